// The feature spec: which dense features and hashed sparse inputs a model sees, read from a
// JSON file. The spec's canonical hash is stamped on model files so a model is never scored
// against features it was not trained on. See docs/features.md for the full vocabulary.
import Foundation

/// A feature spec as written in its JSON file (snake_case keys).
public struct FeatureSpec: Codable, Sendable, Equatable {
    /// Dense features, in vector order.
    public var dense: [DenseFeature]
    /// Categorical fields hashed into buckets (one sparse index each per event).
    public var categorical: [CategoricalFeature]
    /// Hashed crosses of categorical fields (one sparse index each per event).
    public var crosses: [CrossFeature]
    /// Offset of local time from UTC for the time features, in minutes. Default: 0.
    public var utcOffsetMinutes: Int?

    public init(dense: [DenseFeature], categorical: [CategoricalFeature] = [], crosses: [CrossFeature] = [], utcOffsetMinutes: Int? = nil) {
        self.dense = dense
        self.categorical = categorical
        self.crosses = crosses
        self.utcOffsetMinutes = utcOffsetMinutes
    }

    enum CodingKeys: String, CodingKey {
        case dense, categorical, crosses
        case utcOffsetMinutes = "utc_offset_minutes"
    }

    /// One dense feature: a source, then optionally log1p, online standardisation and clipping,
    /// applied in that order. A missing source value (an absent `features.<key>`) becomes `default`.
    public struct DenseFeature: Codable, Sendable, Equatable {
        public var source: String
        public var name: String?
        public var log1p: Bool?
        public var standardize: Bool?
        public var clip: [Double]?
        public var `default`: Double?

        public init(_ source: String, name: String? = nil, log1p: Bool = false, standardize: Bool = false, clip: ClosedRange<Double>? = nil, default value: Double? = nil) {
            self.source = source
            self.name = name
            self.log1p = log1p ? true : nil
            self.standardize = standardize ? true : nil
            self.clip = clip.map { [$0.lowerBound, $0.upperBound] }
            self.default = value
        }
    }

    public struct CategoricalFeature: Codable, Sendable, Equatable {
        public var field: String
        public var buckets: Int

        public init(_ field: String, buckets: Int) {
            self.field = field
            self.buckets = buckets
        }
    }

    public struct CrossFeature: Codable, Sendable, Equatable {
        public var fields: [String]
        public var buckets: Int

        public init(_ fields: [String], buckets: Int) {
            self.fields = fields
            self.buckets = buckets
        }
    }

    /// Reads a spec from a JSON file and checks it.
    public static func load(path: String) throws(FeaturesError) -> FeatureSpec {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw FeaturesError(.io, "cannot read feature spec \(path): \(error.localizedDescription)")
        }
        return try parse(data)
    }

    /// Parses and checks a spec from JSON bytes.
    public static func parse(_ data: Data) throws(FeaturesError) -> FeatureSpec {
        let spec: FeatureSpec
        do { spec = try JSONDecoder().decode(FeatureSpec.self, from: data) } catch {
            throw FeaturesError(.invalidSpec, "feature spec is not valid", underlying: error)
        }
        _ = try CompiledSpec(spec)
        return spec
    }

    /// The canonical text of the spec: every setting, in order, defaults made explicit.
    public var canonicalText: String {
        var parts = ["vigil-features/1", "utc_offset=\(utcOffsetMinutes ?? 0)"]
        for d in dense {
            let clip = d.clip.map { "\($0[0].bitPattern):\($0[1].bitPattern)" } ?? "-"
            parts.append("dense=\(d.source)|\(d.name ?? d.source)|log1p=\(d.log1p ?? false)|std=\(d.standardize ?? false)|clip=\(clip)|default=\((d.default ?? 0).bitPattern)")
        }
        for c in categorical { parts.append("cat=\(c.field)|\(c.buckets)") }
        for c in crosses { parts.append("cross=\(c.fields.joined(separator: "*"))|\(c.buckets)") }
        return parts.joined(separator: "\n")
    }

    /// A stable 64-bit hash of the canonical text (hex), for model files and snapshots.
    public var specHash: UInt64 { StableHash.hash(canonicalText) }

    public var specHashHex: String {
        let hex = String(specHash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Names of the dense features, in vector order (for reasons and model files).
    public var denseNames: [String] { dense.map { $0.name ?? $0.source } }

    /// Names of the sparse inputs, in slot order (`mcc`, `mcc*country`).
    public var sparseNames: [String] { categorical.map(\.field) + crosses.map { $0.fields.joined(separator: "*") } }

    /// A sensible default spec covering every kind of feature. It has no day-of-week inputs:
    /// labels arrive days late, so a learner sees only the weekdays a few days back, and a
    /// periodic feature longer than the label delay becomes a time trend it extrapolates
    /// (docs/features.md, "Clock features and label delay").
    public static let standard = FeatureSpec(
        dense: [
            DenseFeature("amount", log1p: true, standardize: true, clip: -5...5),
            DenseFeature("time.hour_sin"), DenseFeature("time.hour_cos"),
            DenseFeature("card.count_1h", log1p: true), DenseFeature("card.count_24h", log1p: true),
            DenseFeature("card.count_7d", log1p: true),
            DenseFeature("card.amount_sum_1h", log1p: true), DenseFeature("card.amount_sum_24h", log1p: true),
            DenseFeature("card.amount_sum_7d", log1p: true),
            DenseFeature("card.amount_ratio", log1p: true, clip: 0...6),
            DenseFeature("card.amount_zscore", clip: -6...6),
            DenseFeature("card.seconds_since_last", log1p: true),
            DenseFeature("card.new_merchant"), DenseFeature("card.new_country"), DenseFeature("card.new_channel"),
            DenseFeature("card.transactions", log1p: true), DenseFeature("card.fraud_labels", log1p: true),
            DenseFeature("merchant.count_1h", log1p: true), DenseFeature("merchant.count_24h", log1p: true),
            DenseFeature("merchant.amount_avg_24h", log1p: true), DenseFeature("merchant.risk"),
            DenseFeature("terminal.count_24h", log1p: true), DenseFeature("terminal.risk"),
        ],
        categorical: [
            CategoricalFeature("mcc", buckets: 1024), CategoricalFeature("country", buckets: 256),
            CategoricalFeature("channel", buckets: 16), CategoricalFeature("merchant_id", buckets: 65_536),
            CategoricalFeature("time.hour", buckets: 24),
        ],
        crosses: [
            CrossFeature(["mcc", "amount_bucket"], buckets: 16_384),
            CrossFeature(["country", "channel"], buckets: 4096),
        ])

    /// The standard spec of earlier releases: today's with the day-of-week inputs
    /// (`time.dow_sin`, `time.dow_cos`) after the hour (hash 03a50394b1524a27; the file
    /// config/features-weekday.json). Registries trained before the upgrade hold models of it.
    public static let standardWithWeekdays: FeatureSpec = {
        var spec = standard
        let hour = spec.dense.firstIndex { $0.source == "time.hour_cos" }! + 1
        spec.dense.insert(contentsOf: [DenseFeature("time.dow_sin"), DenseFeature("time.dow_cos")], at: hour)
        return spec
    }()

    /// The standard specs Vigil has shipped, newest first: serve recognises a model trained on
    /// any of them by its hash (docs/serve.md, "Models after an upgrade").
    public static let shipped: [FeatureSpec] = [standard, standardWithWeekdays]
}
