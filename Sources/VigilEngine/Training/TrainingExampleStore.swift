// The trainer's memory of what was scored: a bounded ring of recent feature vectors keyed by
// event id (what labels join to), and the rows that learning and the guard consume.
import VigilFeatures
import VigilML

/// Recent scored vectors, keyed by the stable hash of their event id. Overwrites the oldest.
struct RecentTraffic {
    let featureWidth: Int
    let sparseWidth: Int
    let capacity: Int
    private(set) var count = 0
    private var next = 0
    private var keys: [UInt64]
    private var dense: [Float]
    private var sparse: [UInt32]
    /// The model version that scored each remembered event.
    private var versions: [Int64]
    private var slotOf: EventSlotIndex
    /// Vectors recorded in total (including overwritten ones).
    private(set) var recorded = 0

    init(featureWidth: Int, sparseWidth: Int, capacity: Int) {
        self.featureWidth = featureWidth
        self.sparseWidth = sparseWidth
        self.capacity = capacity
        keys = [UInt64](repeating: 0, count: capacity)
        dense = [Float](repeating: 0, count: capacity * featureWidth)
        sparse = [UInt32](repeating: 0, count: capacity * sparseWidth)
        versions = [Int64](repeating: 0, count: capacity)
        slotOf = EventSlotIndex(capacity: capacity)
    }

    /// Remembers the first `hashes.count` events of `batch`, in order (the oldest are overwritten).
    mutating func record(eventHashes hashes: [UInt64], batch: ScoredBatch) {
        let d = featureWidth, s = sparseWidth
        precondition(batch.featureWidth == d && batch.sparseWidth == s && hashes.count <= batch.count, "batch shape differs from the trainer's")
        // Rows are copied whole (RowGather.copy): element-wise copies with bounds checks were
        // most of observe's time.
        for i in hashes.indices {
            let key = hashes[i], slot = next
            if count == capacity { slotOf.remove(keys[slot], ifSlot: Int32(slot)) }
            keys[slot] = key
            versions[slot] = batch.modelVersion
            RowGather.copy(batch.features, (i * d)..<((i + 1) * d), into: &dense, at: slot * d)
            RowGather.copy(batch.sparse, (i * s)..<((i + 1) * s), into: &sparse, at: slot * s)
            slotOf.set(key, Int32(slot))
            next = (next + 1) % capacity
            count = min(count + 1, capacity)
            recorded += 1
        }
    }

    /// The vector scored for an event, if it is still remembered.
    func lookup(eventHash key: UInt64) -> (dense: ArraySlice<Float>, sparse: ArraySlice<UInt32>, modelVersion: Int64)? {
        guard let slot = slotOf[key].map(Int.init) else { return nil }
        return (dense[(slot * featureWidth)..<((slot + 1) * featureWidth)], sparse[(slot * sparseWidth)..<((slot + 1) * sparseWidth)],
                versions[slot])
    }
}

/// Feature rows with optional labels, batch-major; what training and evaluation consume.
struct ExampleRows: Sendable {
    let featureWidth: Int
    let sparseWidth: Int
    var count = 0
    var dense: [Float] = []
    var sparse: [UInt32] = []
    var labels: [Float] = []
    /// Known labels for the autoencoder's negative mining (−1 unknown, 0 legit, 1 fraud); empty when none are known.
    var known: [Int8] = []

    init(featureWidth: Int, sparseWidth: Int) {
        self.featureWidth = featureWidth
        self.sparseWidth = sparseWidth
    }

    mutating func append(dense d: ArraySlice<Float>, sparse s: ArraySlice<UInt32>, label: Float? = nil) {
        dense += d
        sparse += s
        if let label { labels.append(label) }
        count += 1
    }

    /// Appends every row of `other` (same widths; labels and known labels kept when both have them).
    mutating func append(contentsOf other: ExampleRows) {
        precondition(other.featureWidth == featureWidth && other.sparseWidth == sparseWidth, "row widths differ")
        dense += other.dense
        sparse += other.sparse
        labels += other.labels
        known += other.known
        count += other.count
    }

    /// Rows `range` (labels too, when present).
    func slice(_ range: Range<Int>) -> ExampleRows {
        var out = ExampleRows(featureWidth: featureWidth, sparseWidth: sparseWidth)
        out.count = range.count
        out.dense = Array(dense[(range.lowerBound * featureWidth)..<(range.upperBound * featureWidth)])
        out.sparse = Array(sparse[(range.lowerBound * sparseWidth)..<(range.upperBound * sparseWidth)])
        if !labels.isEmpty { out.labels = Array(labels[range]) }
        if !known.isEmpty { out.known = Array(known[range]) }
        return out
    }

    /// The rows at `indices`, in that order. `dense: false` leaves the dense values out (a
    /// caller that builds its own dense input saves copying them).
    func pick(_ indices: some Collection<Int>, dense withDense: Bool = true) -> ExampleRows {
        var out = ExampleRows(featureWidth: featureWidth, sparseWidth: sparseWidth)
        if withDense { out.dense = RowGather.gather(dense, width: featureWidth, rows: indices) }
        out.sparse = RowGather.gather(sparse, width: sparseWidth, rows: indices)
        if !labels.isEmpty { out.labels = RowGather.gather(labels, width: 1, rows: indices) }
        out.count = indices.count
        return out
    }

    /// The sparse indices as the classifier takes them (every event has sparseWidth of them).
    var sparseBatch: SparseBatch {
        SparseBatch(offsets: (0...count).map { Int32($0 * sparseWidth) }, indices: sparse.map { Int32(bitPattern: $0) })
    }

    var fraudCount: Int { labels.reduce(0) { $0 + ($1 >= 0.5 ? 1 : 0) } }
}
