// Text tests without string comparisons on the hot path: each text field some rule reads is
// hashed once per batch (RuleInputs.hashes); equality, `in (...)` and list membership then
// compare 64-bit hashes, and only a matching hash is confirmed by comparing the strings
// themselves, so a hash collision can never make a rule fire.
import VigilFeatures

extension TextSource {
    static let all: [TextSource] = [.cardID, .merchantID, .currency, .mcc, .country, .channel, .terminalID, .customerID, .cardBIN]

    /// This field's slot among a batch's hashed columns.
    var slot: Int {
        switch self {
        case .cardID: 0
        case .merchantID: 1
        case .currency: 2
        case .mcc: 3
        case .country: 4
        case .channel: 5
        case .terminalID: 6
        case .customerID: 7
        case .cardBIN: 8
        }
    }
}

/// A set of text values looked up by their StableHash: open addressing over the hashes, the
/// strings kept to confirm a match.
struct HashedTextSet: Sendable {
    private let slots: [UInt64]
    private let occupied: [Bool]
    private let mask: Int
    let values: Set<String>

    init(_ values: Set<String>) {
        self.values = values
        var capacity = 8
        while capacity < values.count * 2 { capacity <<= 1 }
        var slots = [UInt64](repeating: 0, count: capacity), occupied = [Bool](repeating: false, count: capacity)
        for v in values {
            let h = StableHash.hash(v)
            var i = Int(truncatingIfNeeded: h) & (capacity - 1)
            while occupied[i] && slots[i] != h { i = (i + 1) & (capacity - 1) }
            slots[i] = h
            occupied[i] = true
        }
        self.slots = slots
        self.occupied = occupied
        mask = capacity - 1
    }

    /// Whether some value has hash `h` (then confirm with `values.contains`).
    @inline(__always)
    func mayContain(hash h: UInt64) -> Bool {
        var i = Int(truncatingIfNeeded: h) & mask
        while occupied[i] {
            if slots[i] == h { return true }
            i = (i + 1) & mask
        }
        return false
    }
}
