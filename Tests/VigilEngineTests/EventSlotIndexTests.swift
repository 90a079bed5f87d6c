import Testing
import VigilML
@testable import VigilEngine

/// The trainer's event-hash → ring-slot map must answer exactly as a Dictionary would.
@Suite struct EventSlotIndexTests {
    @Test func randomOperationsMatchADictionary() {
        // A tiny table and keys from a small range: long probe runs, wrap-around at the end of
        // the table and many deletions in the middle of runs.
        var index = EventSlotIndex(capacity: 8)
        var reference: [UInt64: Int32] = [:]
        var g = SeededGenerator(seed: 7)
        for step in 0..<20_000 {
            let key = g.next() % 24
            switch g.next() % 3 {
            case 0 where reference.count < 8, 1 where reference.count < 8:
                index.set(key, Int32(step % 1000))
                reference[key] = Int32(step % 1000)
            default:
                index.remove(key)
                reference[key] = nil
            }
            for probe in UInt64(0)..<24 where index[probe] != reference[probe] {
                Issue.record("step \(step): key \(probe) gives \(String(describing: index[probe])), expected \(String(describing: reference[probe]))")
                return
            }
        }
    }

    @Test func keyZeroAndRemovingAbsentKeys() {
        var index = EventSlotIndex(capacity: 4)
        #expect(index[0] == nil)
        index.remove(0)
        index.set(0, 3)
        #expect(index[0] == 3)
        index.set(0, 1)
        #expect(index[0] == 1)
        index.remove(5)
        #expect(index[0] == 1)
        index.remove(0)
        #expect(index[0] == nil)
        index.set(9, 2)
        index.remove(9, ifSlot: 3)
        #expect(index[9] == 2, "another slot: kept")
        index.remove(9, ifSlot: 2)
        #expect(index[9] == nil)
    }
}
