// The word-at-a-time byte search and the span-to-String conversion that replaced memchr and
// String(decoding:) over raw buffers in the input reader.
import Testing
@testable import VigilReplay

struct ByteSearchTests {
    /// Every start, end and match position around the sixteen-byte blocks, against a naive search.
    @Test func firstIndexIsTheFirstMatchInTheRange() {
        var g = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            let bytes = (0..<Int.random(in: 0...70, using: &g)).map { _ in [0x0A, 0x0B, 0x8A, 0x00, 0xFF].randomElement(using: &g)! as UInt8 }
            let lower = Int.random(in: 0...bytes.count, using: &g), upper = Int.random(in: lower...bytes.count, using: &g)
            let byte: UInt8 = [0x0A, 0x00, 0xFF].randomElement(using: &g)!
            let naive = bytes[lower..<upper].firstIndex(of: byte)
            let found = bytes.span.firstIndex(of: byte, in: lower..<upper)  // outside #expect, which cannot take a span
            #expect(found == naive, "\(bytes) \(lower)..<\(upper) \(byte)")
        }
    }

    @Test func blankIsSpacesAndTabsOnly() {
        func blank(_ text: String, _ range: Range<Int>) -> Bool { Array(text.utf8).span.isBlank(range) }
        #expect(blank(" \t ", 0..<3))
        #expect(blank("", 0..<0))
        #expect(!blank(" x ", 0..<3))
        #expect(blank(" x ", 2..<3))
    }

    /// Ill-formed UTF-8 is repaired as String(decoding:as:) repairs it (CSV fields keep their old text).
    @Test func stringsFromSpansRepairLikeDecoding() {
        let samples: [[UInt8]] = [Array("plain".utf8), Array("café €".utf8), [0x61, 0xFF, 0x62], [0xE2, 0x82], [0xC0, 0x80, 0x41], []]
        for bytes in samples {
            let text = String(utf8: bytes.span)
            #expect(text == String(decoding: bytes, as: UTF8.self), "\(bytes)")
        }
    }
}
