// A link's row map: for every offset of its range, which tables hold a row for it and a
// 4-byte tag of each such row (the first bytes of the row's digest). The rows' full SHA-256
// is what makes a link tamper-evident; the map only lets verify name the offset and table
// where the stored rows and the link disagree. Layout (sql/README.md):
//   entry := mask:uint8 != 0, then a 4-byte big-endian tag per set bit, in bit order
//          | 0x00, run:unsigned LEB128   (run >= 1 consecutive offsets without rows)

/// The rows a link covers, offset by offset.
public struct RowMap: Sendable, Equatable {
    /// One offset's rows: which tables hold one (mask) and each one's tag.
    public struct Entry: Sendable, Equatable {
        public var mask: UInt8 = 0
        /// Tags by table (`AuditTable.rawValue`); 0 where the mask has no bit.
        var slots = SIMD4<UInt32>(repeating: 0)

        public init() {}

        /// The tag of `table`'s row (nil when the table has none at this offset).
        public func tag(_ table: AuditTable) -> UInt32? { mask & table.bit != 0 ? slots[table.rawValue] : nil }

        /// Records `table`'s row; false when the table already has one here.
        public mutating func add(_ table: AuditTable, tag: UInt32) -> Bool {
            guard mask & table.bit == 0 else { return false }
            mask |= table.bit
            slots[table.rawValue] = tag
            return true
        }
    }

    /// Entries from the link's `from_offset` on, one per offset.
    public var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    /// The map of [from, to) from rows in any order; rows outside the range are ignored and
    /// a second row of one table at one offset keeps the first.
    public init(from: Int64, to: Int64, rows: [(offset: Int64, table: AuditTable, tag: UInt32)]) {
        entries = [Entry](repeating: Entry(), count: Int(Swift.max(0, to - from)))
        for row in rows where row.offset >= from && row.offset < to {
            _ = entries[Int(row.offset - from)].add(row.table, tag: row.tag)
        }
    }

    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(entries.count * 5)
        var i = 0
        while i < entries.count {
            let e = entries[i]
            if e.mask == 0 {
                var run = 0
                while i < entries.count, entries[i].mask == 0 { run += 1; i += 1 }
                out.append(0)
                var n = UInt64(run)
                repeat {
                    let low = UInt8(n & 0x7F)
                    n >>= 7
                    out.append(n == 0 ? low : low | 0x80)
                } while n != 0
                continue
            }
            out.append(e.mask)
            for table in AuditTable.allCases where e.mask & table.bit != 0 {
                let tag = e.slots[table.rawValue]
                out.append(UInt8(tag >> 24)); out.append(UInt8(tag >> 16 & 0xFF)); out.append(UInt8(tag >> 8 & 0xFF)); out.append(UInt8(tag & 0xFF))
            }
            i += 1
        }
        return out
    }

    /// Decodes a stored map that must cover exactly `count` offsets.
    public init(decoding bytes: [UInt8], count: Int) throws {
        func fail(_ why: String) -> AuditError { AuditError(.malformedLink, "row map: \(why)") }
        guard count >= 0 else { throw fail("negative offset count") }
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        var i = 0
        while i < bytes.count {
            let mask = bytes[i]
            i += 1
            if mask == 0 {
                var run: UInt64 = 0, shift: UInt64 = 0
                while true {
                    guard i < bytes.count, shift < 63 else { throw fail("truncated run length") }
                    let b = bytes[i]
                    i += 1
                    run |= UInt64(b & 0x7F) << shift
                    if b & 0x80 == 0 { break }
                    shift += 7
                }
                guard run >= 1, run <= UInt64(count - entries.count) else { throw fail("a run of \(run) offsets overflows the link's \(count)") }
                entries.append(contentsOf: repeatElement(Entry(), count: Int(run)))
                continue
            }
            guard mask < (1 << AuditTable.allCases.count) else { throw fail("unknown table bits in mask \(mask)") }
            guard entries.count < count else { throw fail("more entries than the link's \(count) offsets") }
            var entry = Entry()
            for table in AuditTable.allCases where mask & table.bit != 0 {
                guard i + 4 <= bytes.count else { throw fail("truncated tag") }
                let tag = UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3])
                _ = entry.add(table, tag: tag)
                i += 4
            }
            entries.append(entry)
        }
        guard entries.count == count else { throw fail("\(entries.count) entries for \(count) offsets") }
        self.entries = entries
    }
}
