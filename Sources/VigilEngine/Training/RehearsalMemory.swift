// Older labelled examples the classifier keeps rehearsing: one bounded ring per class, so a
// step can replay frauds seen long ago beside fresh labels without the legitimate majority
// crowding them out of memory.
import VigilML

/// A bounded ring of feature rows (newest kept).
struct ExampleRing {
    let featureWidth: Int
    let sparseWidth: Int
    let capacity: Int
    private(set) var count = 0
    private var next = 0
    private var dense: [Float]
    private var sparse: [UInt32]

    init(featureWidth: Int, sparseWidth: Int, capacity: Int) {
        self.featureWidth = featureWidth
        self.sparseWidth = sparseWidth
        self.capacity = capacity
        dense = [Float](repeating: 0, count: capacity * featureWidth)
        sparse = [UInt32](repeating: 0, count: capacity * sparseWidth)
    }

    mutating func append(dense row: ArraySlice<Float>, sparse indices: ArraySlice<UInt32>) {
        let d = featureWidth, s = sparseWidth
        dense.replaceSubrange((next * d)..<((next + 1) * d), with: row)
        sparse.replaceSubrange((next * s)..<((next + 1) * s), with: indices)
        next = (next + 1) % capacity
        count = min(count + 1, capacity)
    }

    /// Appends row `i` of the ring to `rows`, with `label`.
    func copy(_ i: Int, to rows: inout ExampleRows, label: Float) {
        rows.append(dense: dense[(i * featureWidth)..<((i + 1) * featureWidth)],
                    sparse: sparse[(i * sparseWidth)..<((i + 1) * sparseWidth)], label: label)
    }
}

/// Labelled examples by class, for rehearsal. Draws are seeded, so learning is reproducible.
struct RehearsalMemory {
    private(set) var fraud: ExampleRing
    private(set) var legit: ExampleRing

    init(featureWidth: Int, sparseWidth: Int, fraudCapacity: Int, legitCapacity: Int) {
        fraud = ExampleRing(featureWidth: featureWidth, sparseWidth: sparseWidth, capacity: fraudCapacity)
        legit = ExampleRing(featureWidth: featureWidth, sparseWidth: sparseWidth, capacity: legitCapacity)
    }

    var count: Int { fraud.count + legit.count }
    var hasBothClasses: Bool { fraud.count > 0 && legit.count > 0 }

    /// Remembers every labelled row of `rows`.
    mutating func add(_ rows: ExampleRows) {
        let d = rows.featureWidth, s = rows.sparseWidth
        for i in 0..<rows.count {
            let dense = rows.dense[(i * d)..<((i + 1) * d)], sparse = rows.sparse[(i * s)..<((i + 1) * s)]
            if rows.labels[i] >= 0.5 { fraud.append(dense: dense, sparse: sparse) } else { legit.append(dense: dense, sparse: sparse) }
        }
    }

    /// Appends `n` remembered examples to `rows`: half frauds (rounded up) while there are
    /// any, the rest legitimate, each drawn uniformly with replacement within its class.
    /// `known`: also record them as known labels (the autoencoder's negative mining).
    func draw(_ n: Int, into rows: inout ExampleRows, known: Bool = false, generator g: inout SeededGenerator) {
        guard n > 0, count > 0 else { return }
        let frauds = fraud.count == 0 ? 0 : legit.count == 0 ? n : (n + 1) / 2
        for k in 0..<n {
            let isFraud = k < frauds
            if isFraud { fraud.copy(Int(g.next() % UInt64(fraud.count)), to: &rows, label: 1) } else {
                legit.copy(Int(g.next() % UInt64(legit.count)), to: &rows, label: 0)
            }
            if known { rows.known.append(isFraud ? 1 : 0) }
        }
    }
}
