// What a Kafka record carries beside its JSON payload, checked with the same rules as the
// payload: anything the audit trail could not store is refused at decode time, never by the
// database at commit (where one bad record would roll back, and stop, its whole batch).

extension EventDecoder {
    /// Refuses a message key the contract cannot carry: longer than `maxKeyBytes`
    /// (`key_too_large`) or not UTF-8 (`invalid_key_utf8`; the key is the card id). A missing
    /// key is fine.
    public func checkKey(_ key: ArraySlice<UInt8>?) throws(EventRejection) {
        guard let key else { return }
        guard key.count <= configuration.maxKeyBytes else {
            throw EventRejection(.keyTooLarge, field: "key", "\(key.count) bytes exceed the limit of \(configuration.maxKeyBytes)")
        }
        if let bad = Self.firstInvalidUTF8(key) {
            throw EventRejection(.invalidKeyUTF8, field: "key", "not valid UTF-8 at byte \(bad - key.startIndex)")
        }
    }

    /// Refuses a Kafka record timestamp outside 1970 ... 9999 (`timestamp_out_of_range`): it
    /// is the partition key of `decisions` and part of its unique key. nil (the broker sent
    /// none) is fine: the event's own time stands in.
    public static func checkRecordTimestamp(_ millis: Int64?) throws(EventRejection) {
        guard let millis, !EventTimestamp.isInRange(millis) else { return }
        throw EventRejection(.timestampOutOfRange, field: "record timestamp",
                             "\(millis) ms since 1970 is outside 1970-01-01 ... 9999-12-31 (UTC)")
    }

    /// The index of the first byte that breaks UTF-8 (overlongs, surrogates and code points
    /// past U+10FFFF included), or nil when `bytes` is valid. No allocation.
    static func firstInvalidUTF8(_ bytes: ArraySlice<UInt8>) -> Int? {
        var i = bytes.startIndex
        let end = bytes.endIndex
        while i < end {
            let b0 = bytes[i]
            if b0 < 0x80 { i += 1; continue }
            var need: Int
            var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
            switch b0 {
            case 0xC2...0xDF: need = 1
            case 0xE0: need = 2; lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: need = 2
            case 0xED: need = 2; hi = 0x9F
            case 0xF0: need = 3; lo = 0x90
            case 0xF1...0xF3: need = 3
            case 0xF4: need = 3; hi = 0x8F
            default: return i
            }
            let start = i
            i += 1
            while need > 0 {
                guard i < end, bytes[i] >= lo, bytes[i] <= hi else { return start }
                lo = 0x80
                hi = 0xBF
                i += 1
                need -= 1
            }
        }
        return nil
    }
}
