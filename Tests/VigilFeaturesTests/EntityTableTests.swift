// The open-addressing entity table: lookups across growth, bounded size, idle eviction, snapshots.
import Testing
@testable import VigilFeatures

@Suite struct EntityTableTests {
    private func record(_ seconds: UInt32) -> MerchantState {
        MerchantState(lastSeconds: seconds, count1h: Float(seconds), count24h: 0, sum24h: 0, fraudLabels: 0, labels: 0)
    }

    @Test func findsEveryKeyAcrossGrowth() {
        var table = EntityTable<MerchantState>(maxEntities: 100_000, initialCapacity: 16)
        for k in 0..<50_000 {
            let key = StableHash.hash("k\(k)")
            let slot = table.findOrInsert(key, now: 1)
            table[slot] = record(UInt32(k + 1))
        }
        #expect(table.count == 50_000)
        #expect(Double(table.count) <= Double(table.capacity) * EntityTable<MerchantState>.maxLoad)
        for k in stride(from: 0, to: 50_000, by: 97) {
            let slot = table.find(StableHash.hash("k\(k)"))
            #expect(slot.map { table[$0].lastSeconds } == UInt32(k + 1))
        }
        #expect(table.find(StableHash.hash("absent")) == nil)
        // Key 0 is stored as 1 and still found.
        let zero = table.findOrInsert(0, now: 1)
        #expect(table.find(0) == zero)
    }

    @Test func evictsTheLeastRecentlyActiveAtTheBound() {
        var table = EntityTable<MerchantState>(maxEntities: 100)
        for k in 0..<100 { table[table.findOrInsert(UInt64(k + 10), now: 0)] = record(UInt32(1000 + k)) }
        #expect(table.count == 100)
        _ = table.findOrInsert(5, now: 0) // the 101st entity forces eviction
        #expect(table.count <= 100 && table.count >= 80)
        #expect(table.find(10) == nil) // the oldest went
        #expect(table.find(109) != nil) // the newest stayed
        #expect(table.evict(idleSince: 1090) > 0)
        #expect(table.find(100) == nil && table.find(101) != nil && table.find(5) == nil)
    }

    @Test func snapshotRestoresIntoAnyCapacity() throws {
        var table = EntityTable<MerchantState>(maxEntities: 10_000, initialCapacity: 16)
        for k in 0..<3000 { table[table.findOrInsert(StableHash.hash("m\(k)"), now: 0)] = record(UInt32(k + 1)) }
        var writer = SnapshotWriter()
        table.write(to: &writer)
        var other = EntityTable<MerchantState>(maxEntities: 10_000, initialCapacity: 9000)
        var reader = SnapshotReader(writer.bytes)
        try other.read(from: &reader)
        #expect(other.count == 3000)
        var again = SnapshotWriter()
        other.write(to: &again)
        #expect(again.bytes == writer.bytes) // sorted by key: layout does not leak into the bytes
        var small = EntityTable<MerchantState>(maxEntities: 100)
        var reader2 = SnapshotReader(writer.bytes)
        #expect(throws: FeaturesError.self) { try small.read(from: &reader2) }
    }
}
