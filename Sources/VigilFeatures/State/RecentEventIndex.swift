// Routes delayed labels (which carry only an event id) back to the entities of that event.

/// A direct-mapped cache from event-id hash to the event's card, merchant and terminal keys.
/// Bounded and O(1); a newer event that lands in the same slot replaces the older one.
struct RecentEventIndex: Sendable, Equatable {
    struct Entry: Sendable, Equatable {
        var event: UInt64 = 0
        var card: UInt64 = 0
        var merchant: UInt64 = 0
        var terminal: UInt64 = 0 // 0 = the event had no terminal
    }

    private(set) var entries: [Entry]

    init(capacity: Int) {
        entries = Array(repeating: Entry(), count: max(1, capacity))
    }

    @inline(__always) private func slot(_ event: UInt64) -> Int {
        Int(truncatingIfNeeded: event.multipliedFullWidth(by: UInt64(entries.count)).high)
    }

    mutating func record(_ entry: Entry) {
        entries[slot(entry.event)] = entry
    }

    func lookup(_ event: UInt64) -> Entry? {
        let entry = entries[slot(event)]
        return entry.event == event && event != 0 ? entry : nil
    }

    var memoryBytes: Int { entries.count * MemoryLayout<Entry>.stride }

    func write(to writer: inout SnapshotWriter) {
        writer.write(UInt64(entries.count))
        let used = entries.indices.filter { entries[$0].event != 0 }
        writer.write(UInt64(used.count))
        for i in used {
            writer.write(UInt64(i))
            let e = entries[i]
            for v in [e.event, e.card, e.merchant, e.terminal] { writer.write(v) }
        }
    }

    mutating func read(from reader: inout SnapshotReader) throws(FeaturesError) {
        let capacity = Int(try reader.read(UInt64.self))
        guard capacity == entries.count else {
            throw FeaturesError(.invalidSnapshot, "recent-event index has \(capacity) slots, configured \(entries.count)")
        }
        entries = Array(repeating: Entry(), count: capacity)
        let used = Int(try reader.read(UInt64.self))
        guard used <= capacity else { throw FeaturesError(.invalidSnapshot, "recent-event index overfull") }
        for _ in 0..<used {
            let i = Int(try reader.read(UInt64.self))
            guard i < capacity else { throw FeaturesError(.invalidSnapshot, "recent-event slot out of range") }
            entries[i] = Entry(event: try reader.read(), card: try reader.read(), merchant: try reader.read(), terminal: try reader.read())
        }
    }
}
