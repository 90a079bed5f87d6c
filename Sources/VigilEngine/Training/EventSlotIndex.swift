// Where in the recent-traffic ring an event's vector sits, by event-id hash.

/// A map from event-id hash to ring slot: open addressing with linear probing and
/// backward-shift deletion, so it never fills with tombstones. It replaces a
/// `[UInt64: Int32]` whose SipHash and resizing checks cost more than the rest of
/// `OnlineTrainer.observe` (one removal and one insertion per scored event). Lookups give
/// exactly what the dictionary gave.
struct EventSlotIndex {
    private var keys: [UInt64]
    /// The ring slot of `keys[i]`, or −1 for an empty position.
    private var slots: [Int32]
    private let mask: Int
    private let shift: UInt64

    /// Room for `capacity` entries at a load of at most one half.
    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size *= 2 }
        keys = [UInt64](repeating: 0, count: size)
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
    }

    /// Fibonacci hashing: the top bits of the product, well spread even for poorly mixed keys.
    @inline(__always)
    private func home(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The position holding `key`, or the empty position where it would go.
    @inline(__always)
    private func position(_ key: UInt64) -> Int {
        var i = home(key)
        while slots[i] >= 0 && keys[i] != key { i = (i + 1) & mask }
        return i
    }

    subscript(key: UInt64) -> Int32? {
        let i = position(key)
        return slots[i] >= 0 ? slots[i] : nil
    }

    mutating func set(_ key: UInt64, _ slot: Int32) {
        precondition(slot >= 0, "ring slots are non-negative")
        let i = position(key)
        keys[i] = key
        slots[i] = slot
    }

    mutating func remove(_ key: UInt64) {
        remove(key, ifSlot: nil)
    }

    /// Removes `key` if it is present (and maps to `slot`, when given): one probe where a
    /// lookup and a removal took two.
    mutating func remove(_ key: UInt64, ifSlot slot: Int32?) {
        var i = position(key)
        guard slots[i] >= 0, slot == nil || slots[i] == slot else { return }
        // Shift later entries of the probe run back so every entry stays reachable from its home.
        var j = i
        while true {
            j = (j + 1) & mask
            guard slots[j] >= 0 else { break }
            let h = home(keys[j])
            // Move j into the hole at i unless its home lies cyclically in (i, j].
            let stays = i <= j ? (i < h && h <= j) : (i < h || h <= j)
            if !stays {
                keys[i] = keys[j]
                slots[i] = slots[j]
                i = j
            }
        }
        slots[i] = -1
    }
}
