// One labelled example as it travels from the instance that joined the label to its scored
// vector to the group's learner, through the training topic. Compact on purpose: the dense
// features go as half-precision bit patterns (2 bytes each instead of 4), the hashed sparse
// indices as LEB128 varints, the header in fixed little-endian fields. Learning happens on
// the half-precision values everywhere (serve and replay alike, see `OnlineTrainer.join`),
// so sending an example loses nothing the learner would have used.
import VigilML

public struct TrainingExample: Sendable, Equatable {
    /// The stored label's id (`labels.label_id`): one label is one example, and the learner
    /// recognises a replayed or twice-sent example by it. Replay numbers its labels itself.
    public var labelID: Int64
    public var eventID: String
    public var isFraud: Bool
    /// When the label was given (milliseconds since the epoch).
    public var labelledAtMillis: Int64
    /// The model version that scored the event (the vector is that scoring's input).
    public var modelVersion: Int64
    /// Dense features, already rounded to half precision (`roundedToHalf`).
    public var dense: [Float]
    public var sparse: [UInt32]

    public init(labelID: Int64, eventID: String, isFraud: Bool, labelledAtMillis: Int64, modelVersion: Int64,
                dense: [Float], sparse: [UInt32]) {
        self.labelID = labelID
        self.eventID = eventID
        self.isFraud = isFraud
        self.labelledAtMillis = labelledAtMillis
        self.modelVersion = modelVersion
        self.dense = dense
        self.sparse = sparse
    }

    static let format: UInt8 = 1
    /// Half precision's largest finite value: larger features are clamped to it rather than
    /// sent as infinity (standardised and clipped features never come near it).
    static let halfMaximum: Float = 65_504

    /// `values` as the learner sees them: each rounded to the nearest half-precision value
    /// (ties to even), finite values clamped to ±65504.
    public static func roundedToHalf<C: Collection>(_ values: C) -> [Float] where C.Element == Float {
        let clamped = values.map { $0.isNaN ? $0 : min(max($0, -halfMaximum), halfMaximum) }
        return HalfPrecision.narrow(clamped).map { HalfPrecision.table[Int($0.bitPattern)] }
    }

    /// The message value: version byte, flags, label id, label time, model version (int64 LE
    /// each), event id (u16 length + UTF-8), dense and sparse counts (u16 each), dense values
    /// as Float16 bits, sparse indices as varints.
    public func encoded() -> [UInt8] {
        let id = Array(eventID.utf8.prefix(Int(UInt16.max)))
        var out: [UInt8] = []
        out.reserveCapacity(32 + id.count + dense.count * 2 + sparse.count * 3)
        out.append(Self.format)
        out.append(isFraud ? 1 : 0)
        for value in [labelID, labelledAtMillis, modelVersion] { Self.append(UInt64(bitPattern: value), bytes: 8, to: &out) }
        Self.append(UInt64(id.count), bytes: 2, to: &out)
        out += id
        Self.append(UInt64(dense.count), bytes: 2, to: &out)
        Self.append(UInt64(sparse.count), bytes: 2, to: &out)
        for half in HalfPrecision.narrow(dense.map { $0.isNaN ? $0 : min(max($0, -Self.halfMaximum), Self.halfMaximum) }) {
            Self.append(UInt64(half.bitPattern), bytes: 2, to: &out)
        }
        for index in sparse {
            var v = index
            while v >= 0x80 {
                out.append(UInt8(v & 0x7F) | 0x80)
                v >>= 7
            }
            out.append(UInt8(v))
        }
        return out
    }

    /// Decodes `encoded()`'s bytes; `.corruptTrainingExample` says what is wrong.
    public static func decode<Bytes: Collection<UInt8>>(_ bytes: Bytes) throws -> TrainingExample {
        var reader = Reader(bytes: Array(bytes))
        guard try reader.byte() == format else { throw EngineError(.corruptTrainingExample, "unknown training example format") }
        let flags = try reader.byte()
        guard flags & ~1 == 0 else { throw EngineError(.corruptTrainingExample, "unknown flags \(flags)") }
        let labelID = Int64(bitPattern: try reader.fixed(8))
        let labelled = Int64(bitPattern: try reader.fixed(8))
        let version = Int64(bitPattern: try reader.fixed(8))
        let idBytes = try reader.take(Int(try reader.fixed(2)))
        guard let eventID = String(validating: idBytes, as: UTF8.self) else {
            throw EngineError(.corruptTrainingExample, "the event id is not UTF-8")
        }
        let denseCount = Int(try reader.fixed(2)), sparseCount = Int(try reader.fixed(2))
        var dense = [Float](repeating: 0, count: denseCount)
        for i in 0..<denseCount { dense[i] = HalfPrecision.table[Int(try reader.fixed(2))] }
        var sparse = [UInt32](repeating: 0, count: sparseCount)
        for i in 0..<sparseCount { sparse[i] = try reader.varint() }
        guard reader.isAtEnd else { throw EngineError(.corruptTrainingExample, "\(reader.remaining) bytes after the example") }
        return TrainingExample(labelID: labelID, eventID: eventID, isFraud: flags & 1 == 1, labelledAtMillis: labelled,
                               modelVersion: version, dense: dense, sparse: sparse)
    }

    private static func append(_ value: UInt64, bytes: Int, to out: inout [UInt8]) {
        for i in 0..<bytes { out.append(UInt8(truncatingIfNeeded: value >> (8 * i))) }
    }

    private struct Reader {
        let bytes: [UInt8]
        var at = 0
        var isAtEnd: Bool { at == bytes.count }
        var remaining: Int { bytes.count - at }

        mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
            guard n <= remaining else { throw EngineError(.corruptTrainingExample, "truncated: \(n) bytes wanted, \(remaining) left") }
            defer { at += n }
            return bytes[at..<(at + n)]
        }

        mutating func byte() throws -> UInt8 { try take(1).first! }

        mutating func fixed(_ n: Int) throws -> UInt64 {
            try take(n).reversed().reduce(0) { $0 << 8 | UInt64($1) }
        }

        mutating func varint() throws -> UInt32 {
            var value: UInt64 = 0
            for shift in stride(from: 0, to: 35, by: 7) {
                let b = try byte()
                value |= UInt64(b & 0x7F) << UInt64(shift)
                if b & 0x80 == 0 {
                    guard value <= UInt64(UInt32.max) else { break }
                    return UInt32(value)
                }
            }
            throw EngineError(.corruptTrainingExample, "a sparse index is not a valid varint")
        }
    }
}
