// Why an event scored as it did: named features with their weight of evidence, kept inline
// (no array per event) so the hot path allocates nothing for them.

/// One reason behind a score or a decision.
public struct RiskReason: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: UInt8, Sendable {
        /// The autoencoder reconstructed this feature badly: `weight` is its squared error
        /// divided by the feature's mean error on normal traffic (1 ≈ normal).
        case reconstruction
        /// The classifier's gradient × input for this feature: how far it pushed the logit up.
        case classifier
        /// A decision rule fired (e.g. an amount cap); `weight` is the value it tested.
        case rule
        /// A rule in shadow mode fired: recorded, but it changed nothing.
        case shadowRule

        /// The kind's name where reasons are spelt out (`alerts.reasons`, logs).
        public var name: String {
            switch self {
            case .reconstruction: "reconstruction"
            case .classifier: "classifier"
            case .rule: "rule"
            case .shadowRule: "shadow_rule"
            }
        }

        /// The kind of a one-letter `code`; nil for a letter that is no kind's.
        public init?(code: some StringProtocol) {
            guard let kind = [Kind.reconstruction, .classifier, .rule, .shadowRule].first(where: { String($0.code) == code }) else { return nil }
            self = kind
        }

        /// The kind's one-letter code in the compact text of `decisions.reasons`.
        public var code: Character {
            switch self {
            case .reconstruction: "r"
            case .classifier: "c"
            case .rule: "p"
            case .shadowRule: "s"
            }
        }
    }

    public var kind: Kind
    /// A feature name from the feature spec, `cae.anomaly_score` / `cae.embedding` for the
    /// classifier's autoencoder inputs, or a rule's name.
    public var name: String
    public var weight: Float

    public init(kind: Kind, name: String, weight: Float) {
        self.kind = kind
        self.name = name
        self.weight = weight
    }

    /// `amount_zscore:reconstruction=12.5`, for logs and test messages (the stored forms are
    /// VigilService's `ReasonText`, from the same kind names and codes).
    public var description: String {
        "\(name):\(kind.name)=\((weight * 100).rounded() / 100)"
    }
}

/// Up to four reasons stored inline, strongest first.
public struct ReasonList: Sendable, Equatable, RandomAccessCollection {
    public static let capacity = 4
    private var storage: (RiskReason?, RiskReason?, RiskReason?, RiskReason?) = (nil, nil, nil, nil)
    public private(set) var count = 0

    public init() {}

    public init(_ reasons: some Sequence<RiskReason>) {
        for r in reasons { append(r) }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(i: Int) -> RiskReason {
        precondition(i >= 0 && i < count, "reason index \(i) out of 0..<\(count)")
        switch i {
        case 0: return storage.0!
        case 1: return storage.1!
        case 2: return storage.2!
        default: return storage.3!
        }
    }

    /// Appends when there is room; a full list ignores further reasons (they are weaker).
    public mutating func append(_ r: RiskReason) {
        switch count {
        case 0: storage.0 = r
        case 1: storage.1 = r
        case 2: storage.2 = r
        case 3: storage.3 = r
        default: return
        }
        count += 1
    }

    /// Puts `r` first, pushing the weakest out if the list is full (rules outrank models).
    public mutating func prepend(_ r: RiskReason) {
        let old = Array(self)
        self = ReasonList()
        append(r)
        for o in old { append(o) }
    }

    public mutating func removeAll() {
        storage = (nil, nil, nil, nil)
        count = 0
    }

    public static func == (a: ReasonList, b: ReasonList) -> Bool { a.elementsEqual(b) }
}
