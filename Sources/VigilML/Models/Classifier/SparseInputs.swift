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
