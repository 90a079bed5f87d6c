// An open-addressing hash table from a 64-bit entity key to a fixed-size record, stored flat
// (one array of key+record entries, so a lookup touches one place in memory), with linear probing, bounded size and deterministic
// eviction of the entities idle longest. No per-entity allocation, no Swift Hasher.

/// A record kept per entity. `lastSeconds` is the event time of its last update; it drives eviction.
public protocol EntityRecord: Sendable {
    static var empty: Self { get }
    var lastSeconds: UInt32 { get }
    func write(to writer: inout SnapshotWriter)
    init(from reader: inout SnapshotReader) throws(FeaturesError)
}

struct EntityTable<Record: EntityRecord>: Sendable {
    struct Entry: Sendable {
        /// 0 marks an empty slot; a real key of 0 is stored as 1 (a 2^-64 collision we accept).
        var key: UInt64
        var record: Record
    }

    private(set) var entries: [Entry]
    private(set) var count = 0
    /// Most entities kept; inserting beyond it first evicts the idle ones.
    let maxEntities: Int
    /// Total entities evicted since creation (or restore).
    private(set) var evicted = 0

    static var maxLoad: Double { 0.8 }

    init(maxEntities: Int, initialCapacity: Int = 1024) {
        self.maxEntities = max(maxEntities, 1)
        let capacity = max(16, min(initialCapacity, Int(Double(self.maxEntities) / Self.maxLoad) + 1))
        entries = Array(repeating: Entry(key: 0, record: .empty), count: capacity)
    }

    var capacity: Int { entries.count }

    /// Bytes held by the table's storage.
    var memoryBytes: Int { capacity * MemoryLayout<Entry>.stride }

    @inline(__always) static func normalise(_ key: UInt64) -> UInt64 { key == 0 ? 1 : key }

    @inline(__always) private func home(_ key: UInt64, _ capacity: Int) -> Int {
        Int(truncatingIfNeeded: key.multipliedFullWidth(by: UInt64(capacity)).high)
    }

    /// The slot holding `key`, if present.
    func find(_ rawKey: UInt64) -> Int? {
        let key = Self.normalise(rawKey)
        let capacity = entries.count
        var i = home(key, capacity)
        while true {
            let k = entries[i].key
            if k == key { return i }
            if k == 0 { return nil }
            i += 1
            if i == capacity { i = 0 }
        }
    }

    /// The slot for `key`, inserting an empty record if absent. `now` (event seconds) is used
    /// only when the table is full and must evict.
    mutating func findOrInsert(_ rawKey: UInt64, now: UInt32) -> Int {
        let key = Self.normalise(rawKey)
        var capacity = entries.count
        var i = home(key, capacity)
        while true {
            let k = entries[i].key
            if k == key { return i }
            if k == 0 { break }
            i += 1
            if i == capacity { i = 0 }
        }
        if Double(count + 1) > Double(capacity) * Self.maxLoad || count >= maxEntities {
            makeRoom()
            capacity = entries.count
            i = home(key, capacity)
            while entries[i].key != 0 {
                i += 1
                if i == capacity { i = 0 }
            }
        }
        entries[i] = Entry(key: key, record: .empty)
        count += 1
        return i
    }

    subscript(slot: Int) -> Record {
        get { entries[slot].record }
        _modify { yield &entries[slot].record }
    }

    /// At the entity bound, evicts the least recently active fifth of the entities (by event
    /// time); otherwise grows by 1.5x. Eviction depends only on the records, never on the
    /// table's capacity, so a restored table behaves exactly like the original.
    private mutating func makeRoom() {
        if count >= maxEntities {
            rebuild(capacity: entries.count, keepingAfter: evictionCutoff(fraction: 0.2))
            return
        }
        let needed = Int(Double(maxEntities) / Self.maxLoad) + 1
        rebuild(capacity: min(needed, entries.count + entries.count / 2), keepingAfter: nil)
    }

    /// The event-time cutoff below which about `fraction` of the entities fall.
    private func evictionCutoff(fraction: Double) -> UInt32 {
        var times: [UInt32] = []
        times.reserveCapacity(count)
        for e in entries where e.key != 0 { times.append(e.record.lastSeconds) }
        times.sort()
        let index = min(times.count - 1, max(0, Int(Double(times.count) * fraction)))
        return times.isEmpty ? 0 : times[index]
    }

    /// Removes entities whose last activity is at or before `seconds`; returns how many went.
    @discardableResult
    mutating func evict(idleSince seconds: UInt32) -> Int {
        var idle = 0
        for e in entries where e.key != 0 && e.record.lastSeconds <= seconds { idle += 1 }
        guard idle > 0 else { return 0 }
        rebuild(capacity: entries.count, keepingAfter: seconds)
        return idle
    }

    /// Rehashes into `capacity` slots, keeping only records with `lastSeconds > cutoff` (all if nil).
    private mutating func rebuild(capacity: Int, keepingAfter cutoff: UInt32?) {
        let old = entries
        entries = []
        entries = Array(repeating: Entry(key: 0, record: .empty), count: capacity)
        let before = count
        count = 0
        for e in old where e.key != 0 {
            if let cutoff, e.record.lastSeconds <= cutoff { continue }
            insertFresh(e.key, e.record)
        }
        evicted += before - count
    }

    private mutating func insertFresh(_ key: UInt64, _ record: Record) {
        let capacity = entries.count
        var i = home(key, capacity)
        while entries[i].key != 0 {
            i += 1
            if i == capacity { i = 0 }
        }
        entries[i] = Entry(key: key, record: record)
        count += 1
    }

    // MARK: Snapshot

    /// Entries sorted by key, so equal states give equal bytes whatever the table's layout.
    func write(to writer: inout SnapshotWriter) {
        writer.write(UInt64(count))
        var slots: [Int] = []
        slots.reserveCapacity(count)
        for i in entries.indices where entries[i].key != 0 { slots.append(i) }
        slots.sort { entries[$0].key < entries[$1].key }
        for i in slots {
            writer.write(entries[i].key)
            entries[i].record.write(to: &writer)
        }
    }

    mutating func read(from reader: inout SnapshotReader) throws(FeaturesError) {
        let entries = Int(try reader.read(UInt64.self))
        guard entries <= maxEntities else {
            throw FeaturesError(.invalidSnapshot, "snapshot holds \(entries) entities, more than the configured \(maxEntities)")
        }
        let capacity = max(16, min(Int(Double(maxEntities) / Self.maxLoad) + 1, max(self.entries.count, Int(Double(entries) / 0.6) + 1)))
        self.entries = Array(repeating: Entry(key: 0, record: .empty), count: capacity)
        count = 0
        for _ in 0..<entries {
            let key = try reader.read(UInt64.self)
            let record = try Record(from: &reader)
            guard key != 0, find(key) == nil else { throw FeaturesError(.invalidSnapshot, "duplicate or zero entity key") }
            insertFresh(key, record)
        }
    }
}
