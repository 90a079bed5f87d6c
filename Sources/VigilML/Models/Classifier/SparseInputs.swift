// Hashed categorical inputs (merchant, MCC × country, …) for the classifier's embedding bag.

/// The active hashed indices of a batch in CSR form: event j's indices are
/// `indices[offsets[j]..<offsets[j+1]]`, each in 0..<buckets. Only these cost work.
public struct SparseBatch: Sendable, Equatable {
    public var offsets: [Int32]
    public var indices: [Int32]

    public init(offsets: [Int32], indices: [Int32]) {
        self.offsets = offsets
        self.indices = indices
    }

    /// One list of bucket indices per event.
    public init(lists: [[Int32]]) {
        var offsets: [Int32] = [0]
        var indices: [Int32] = []
        for list in lists {
            indices.append(contentsOf: list)
            offsets.append(Int32(indices.count))
        }
        self.init(offsets: offsets, indices: indices)
    }

    public var count: Int { max(offsets.count - 1, 0) }

    /// Stable bucket of a categorical value (FNV-1a 64): same string, same bucket, on
    /// every machine and run (unlike `Hasher`, which is seeded per process).
    public static func bucket(of value: String, buckets: Int) -> Int32 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in value.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01B3
        }
        return Int32(truncatingIfNeeded: h % UInt64(max(buckets, 1)))
    }

    public func validate(count n: Int, buckets: Int) throws {
        guard offsets.count == n + 1, offsets.first == 0, Int(offsets.last!) == indices.count else {
            throw MLError(.shapeMismatch, "sparse batch has \(offsets.count) offsets for \(n) events and \(indices.count) indices")
        }
        for j in 0..<n where offsets[j] > offsets[j + 1] {
            throw MLError(.shapeMismatch, "sparse offsets decrease at event \(j)")
        }
        for i in indices where i < 0 || Int(i) >= buckets {
            throw MLError(.shapeMismatch, "sparse index \(i) outside 0..<\(buckets)")
        }
    }
}
