// What a rule set reads of one batch, column by column: the events' fields, their
// `FeatureReadings` and the models' scores. Rules are evaluated a whole column at a time (one
// loop per comparison over the batch, not a tree of calls per event), so each input column is
// gathered once per batch and shared by every rule that reads it: text fields are hashed once
// (equality and list membership compare 64-bit hashes, and only a matching hash is confirmed
// by comparing the strings, so a collision can never make a rule fire).
import VigilFeatures
import VigilML

/// The value of a condition under three-valued logic.
enum Truth: UInt8, Sendable {
    case no = 0, yes = 1, unknown = 2

    @inline(__always)
    init(_ b: Bool) { self = b ? .yes : .no }

    @inline(__always)
    static func and(_ x: Truth, _ y: Truth) -> Truth {
        x == .no || y == .no ? .no : (x == .yes && y == .yes ? .yes : .unknown)
    }

    @inline(__always)
    static func or(_ x: Truth, _ y: Truth) -> Truth {
        x == .yes || y == .yes ? .yes : (x == .no && y == .no ? .no : .unknown)
    }

    @inline(__always)
    var negated: Truth {
        switch self { case .yes: .no; case .no: .yes; case .unknown: .unknown }
    }
}

/// One text field over the batch: each event's StableHash of it, and whether it is null.
struct TextColumn {
    var hashes: [UInt64]
    var nulls: [Bool]
}

/// One batch's rule inputs (not Sendable: made and used by one evaluation). Event `i` of the
/// batch is `events[events.startIndex + i]`; its readings and scores are row `first + i` of
/// the scored arrays.
final class RuleInputs {
    let events: ArraySlice<TransactionEvent>
    let count: Int
    private let first: Int
    private let readings: [Float]
    private let risks: [Float]
    private let scores: [Score]
    private let classifierIsTrained: Bool
    private var texts: [TextColumn?] = Array(repeating: nil, count: TextSource.all.count)
    private var gathered: [NumberSource: [Double]] = [:]
    /// Witness columns of the rules that fired, by active slot (see `RuleSet.weight`).
    var witnesses: [Int: [Double]] = [:]

    init(events: ArraySlice<TransactionEvent>, first: Int = 0, readings: [Float], risks: [Float], scores: [Score], classifierIsTrained: Bool) {
        precondition(readings.count >= (first + events.count) * FeatureReadings.count && risks.count >= first + events.count
                     && scores.count >= first + events.count, "rule inputs shorter than the batch")
        self.events = events
        count = events.count
        self.first = first
        self.readings = readings
        self.risks = risks
        self.scores = scores
        self.classifierIsTrained = classifierIsTrained
    }

    /// The scored batch's events `events` (all of the batch, from its first row).
    convenience init(events: ArraySlice<TransactionEvent>, batch: ScoredBatch, first: Int = 0) {
        self.init(events: events, first: first, readings: batch.readings, risks: batch.risks, scores: batch.scores,
                  classifierIsTrained: batch.classifierIsTrained)
    }

    /// Event `i`'s risk and scores.
    func risk(_ i: Int) -> Float { risks[first + i] }
    func score(_ i: Int) -> Score { scores[first + i] }

    /// A numeric input over the batch; NaN is null. Gathered on first use and shared by
    /// every rule that reads it (rules that change it work on their own copy).
    func numbers(_ source: NumberSource) -> [Double] {
        if let column = gathered[source] { return column }
        let column = gather(source)
        gathered[source] = column
        return column
    }

    private func gather(_ source: NumberSource) -> [Double] {
        var out = [Double](repeating: .nan, count: count)
        let base = events.startIndex
        switch source {
        case .amount:
            for i in 0..<count { out[i] = events[base + i].amount }
        case .risk:
            for i in 0..<count { out[i] = Double(risks[first + i]) }
        case .anomalyScore:
            for i in 0..<count { out[i] = Double(scores[first + i].anomaly) }
        case .fraudProbability:
            // An untrained classifier's output is noise: null to rules, as the risk ignores it.
            guard classifierIsTrained else { break }
            for i in 0..<count { out[i] = Double(scores[first + i].fraudProbability) }
        case .reading(let k):
            let w = FeatureReadings.count
            for i in 0..<count { out[i] = Double(readings[(first + i) * w + k]) }
        case .extra(let hash):
            for i in 0..<count { out[i] = events[base + i].extraFeatures.first(where: { $0.keyHash == hash })?.value ?? .nan }
        }
        return out
    }

    /// Event `i`'s text field (nil: null).
    @inline(__always)
    func text(_ source: TextSource, _ i: Int) -> String? { source.value(events[events.startIndex + i]) }

    /// A text field's hashes over the batch, computed on first use.
    func hashes(_ source: TextSource) -> TextColumn {
        if let column = texts[source.slot] { return column }
        var column = TextColumn(hashes: [UInt64](repeating: 0, count: count), nulls: [Bool](repeating: false, count: count))
        for i in 0..<count {
            if let v = text(source, i) { column.hashes[i] = StableHash.hash(v) } else { column.nulls[i] = true }
        }
        texts[source.slot] = column
        return column
    }
}
