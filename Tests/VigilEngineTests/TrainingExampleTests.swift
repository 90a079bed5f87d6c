// The training topic's example codec: what goes in comes out (dense values at half
// precision), the size is what docs/serve.md says, and damaged bytes are refused, not crashed on.
import Testing
@testable import VigilEngine

@Suite struct TrainingExampleTests {
    static func example(dense: [Float] = [0, 1, -1.5, 0.333_333, 12_345.678, 1e-6], sparse: [UInt32] = [0, 127, 128, 1 << 20, .max]) -> TrainingExample {
        TrainingExample(labelID: 9_001, eventID: "evt-ä-42", isFraud: true, labelledAtMillis: 1_700_000_000_123, modelVersion: 17,
                        dense: TrainingExample.roundedToHalf(dense), sparse: sparse)
    }

    @Test func roundTripsEveryField() throws {
        let e = Self.example()
        #expect(try TrainingExample.decode(e.encoded()) == e)
        var legit = e
        legit.isFraud = false
        legit.labelID = -1
        #expect(try TrainingExample.decode(legit.encoded()) == legit)
    }

    @Test func roundingIsHalfPrecisionAndIdempotent() {
        let rounded = TrainingExample.roundedToHalf([0.1, 1.0 / 3, 2_049, 70_000, -70_000, .infinity])
        #expect(rounded[0] == Float(Float16(0.1)))
        #expect(rounded[1] == Float(Float16(1.0 / 3)))
        #expect(rounded[2] == 2_048)  // ties to even at a spacing of 2
        #expect(rounded[3] == 65_504 && rounded[4] == -65_504 && rounded[5] == 65_504)  // clamped, never infinite
        #expect(TrainingExample.roundedToHalf(rounded) == rounded)
        #expect(abs(TrainingExample.roundedToHalf([0.333_333])[0] - 0.333_333) < 0.333_333 / 1_024)
    }

    @Test func sizeIsTwoBytesADenseFeatureAndAVarintASparseOne() {
        let e = Self.example(dense: [Float](repeating: 0.5, count: 40), sparse: [1, 200, 70_000])
        // 1 format + 1 flags + 3×8 + 2 + id + 2 + 2 + 40×2 + (1 + 2 + 3).
        #expect(e.encoded().count == 32 + e.eventID.utf8.count + 80 + 6)
    }

    @Test func damagedBytesAreRefused() {
        let bytes = Self.example().encoded()
        for cut in [0, 1, 10, bytes.count / 2, bytes.count - 1] {
            #expect(throws: EngineError.self) { try TrainingExample.decode(bytes.prefix(cut)) }
        }
        var unknown = bytes
        unknown[0] = 99
        #expect(throws: EngineError.self) { try TrainingExample.decode(unknown) }
        #expect(throws: EngineError.self) { try TrainingExample.decode(bytes + [0]) }
        // A varint that never ends.
        var endless = Self.example(sparse: [1]).encoded()
        endless[endless.count - 1] = 0x81
        #expect(throws: EngineError.self) { try TrainingExample.decode(endless + [0x81, 0x81, 0x81, 0x81]) }
    }
}
