// Byte search over a span of file bytes, sixteen bytes at a time (what memchr did, without a pointer).

extension Span where Element == UInt8 {
    /// The first position of `byte` in `range`, or nil. Sixteen bytes are compared at once (a
    /// byte-at-a-time loop over a replay file's newlines and truth keys cost a visible share of
    /// the decode time; this one is as fast as memchr on lines of a few hundred bytes).
    func firstIndex(of byte: UInt8, in range: Range<Int>) -> Int? {
        let raw = bytes
        let pattern = SIMD16<UInt8>(repeating: byte)
        var i = range.lowerBound
        while i &+ 16 <= range.upperBound {
            // Every bit pattern is a valid SIMD16<UInt8>, and the load is bounds-checked.
            let matches = raw.unsafeLoadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self) .== pattern
            if any(matches) {
                for lane in 0..<16 where matches[lane] { return i &+ lane }
            }
            i &+= 16
        }
        while i < range.upperBound {
            if self[i] == byte { return i }
            i &+= 1
        }
        return nil
    }

    /// Whether every byte in `range` is a space or a tab (true for an empty range).
    func isBlank(_ range: Range<Int>) -> Bool {
        for i in range where self[i] != 0x20 && self[i] != 0x09 { return false }
        return true
    }
}

extension String {
    /// The bytes as UTF-8, ill-formed sequences repaired with U+FFFD (as `String(decoding:as:)`).
    init(utf8 bytes: Span<UInt8>) {
        if let valid = try? UTF8Span(validating: bytes) {
            self.init(copying: valid)
        } else {
            var copy: [UInt8] = []
            copy.reserveCapacity(bytes.count)
            for i in bytes.indices { copy.append(bytes[i]) }
            self.init(decoding: copy, as: UTF8.self)
        }
    }
}
