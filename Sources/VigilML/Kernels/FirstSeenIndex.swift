// Numbering of distinct non-negative integers in the order they are first seen.

/// Gives each distinct key (a non-negative Int, e.g. an embedding-table row) the number of
/// distinct keys seen before it: open addressing, insert-only, sized up front. A training
/// step numbers its batch's table rows this way; a `[Int: Int]` spent most of that time in
/// SipHash and resizing.
struct FirstSeenIndex {
    private var keys: [Int]
    private var numbers: [Int]
    private let mask: Int
    private(set) var count = 0

    /// Room for `capacity` distinct keys at a load of at most one half.
    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size *= 2 }
        keys = [Int](repeating: -1, count: size)
        numbers = [Int](repeating: 0, count: size)
        mask = size - 1
    }

    /// The number of `key` and whether it was new (then it is `count - 1`).
    @inline(__always)
    mutating func number(of key: Int) -> (number: Int, isNew: Bool) {
        precondition(key >= 0 && count * 2 < keys.count, "FirstSeenIndex takes non-negative keys, up to its capacity")
        var i = Int(truncatingIfNeeded: (UInt64(bitPattern: Int64(key)) &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
        while keys[i] >= 0 {
            if keys[i] == key { return (numbers[i], false) }
            i = (i + 1) & mask
        }
        keys[i] = key
        numbers[i] = count
        count += 1
        return (count - 1, true)
    }
}
