// The spec turned into closed enums and precomputed offsets, checked once at load time so the
// hot path never looks at a string.

/// Where a dense feature's raw value comes from.
enum DenseSource: Sendable, Equatable {
    case amount
    case extra(keyHash: UInt64)
    case time(TimeFeature)
    case card(CardAggregate)
    case merchant(MerchantAggregate)
    case terminal(MerchantAggregate)

    enum TimeFeature: String, CaseIterable, Sendable {
        case hour, dayOfWeek = "day_of_week", hourSin = "hour_sin", hourCos = "hour_cos"
        case dowSin = "dow_sin", dowCos = "dow_cos", isWeekend = "is_weekend", isNight = "is_night"
    }

    enum CardAggregate: String, CaseIterable, Sendable {
        case count1h = "count_1h", count24h = "count_24h", count7d = "count_7d"
        case amountSum1h = "amount_sum_1h", amountSum24h = "amount_sum_24h", amountSum7d = "amount_sum_7d"
        case amountRatio = "amount_ratio", amountZScore = "amount_zscore", secondsSinceLast = "seconds_since_last"
        case newMerchant = "new_merchant", newCountry = "new_country", newChannel = "new_channel"
        case transactions, fraudLabels = "fraud_labels"
    }

    enum MerchantAggregate: String, CaseIterable, Sendable {
        case count1h = "count_1h", count24h = "count_24h", amountAvg24h = "amount_avg_24h", risk
        case fraudLabels = "fraud_labels"
    }

    init?(_ source: String) {
        if source == "amount" { self = .amount; return }
        guard let dot = source.firstIndex(of: ".") else { return nil }
        let head = source[..<dot], tail = String(source[source.index(after: dot)...])
        switch head {
        case "features" where !tail.isEmpty: self = .extra(keyHash: StableHash.hash(tail))
        case "time": guard let t = TimeFeature(rawValue: tail) else { return nil }; self = .time(t)
        case "card": guard let c = CardAggregate(rawValue: tail) else { return nil }; self = .card(c)
        case "merchant": guard let m = MerchantAggregate(rawValue: tail) else { return nil }; self = .merchant(m)
        case "terminal": guard let m = MerchantAggregate(rawValue: tail) else { return nil }; self = .terminal(m)
        default: return nil
        }
    }
}

/// A categorical value usable for bucket hashing and crosses.
enum CategoricalSource: Int, CaseIterable, Sendable {
    case mcc, country, channel, currency, merchantID, terminalID, customerID, cardID, hour, dayOfWeek, amountBucket

    static let names: [String: CategoricalSource] = [
        "mcc": .mcc, "country": .country, "channel": .channel, "currency": .currency,
        "merchant_id": .merchantID, "terminal_id": .terminalID, "customer_id": .customerID,
        "card_id": .cardID, "time.hour": .hour, "time.day_of_week": .dayOfWeek, "amount_bucket": .amountBucket,
    ]
}

struct CompiledDense: Sendable {
    var source: DenseSource
    var log1p: Bool
    var standardizeSlot: Int? // index into the standardiser statistics
    var clipLow: Float
    var clipHigh: Float
    var defaultValue: Double
}

struct CompiledSparse: Sendable {
    var sources: [CategoricalSource]
    var seed: UInt64
    var offset: UInt32
    var buckets: UInt32
}

struct CompiledSpec: Sendable {
    var dense: [CompiledDense] = []
    var sparse: [CompiledSparse] = []
    var standardizedCount = 0
    var sparseDimension: UInt32 = 0
    var utcOffsetSeconds: Int64 = 0

    init(_ spec: FeatureSpec) throws(FeaturesError) {
        utcOffsetSeconds = Int64(spec.utcOffsetMinutes ?? 0) * 60
        guard abs(utcOffsetSeconds) <= 14 * 3600 else { throw FeaturesError(.invalidSpec, "utc_offset_minutes must be within ±840") }
        var names = Set<String>()
        for d in spec.dense {
            guard let source = DenseSource(d.source) else {
                throw FeaturesError(.invalidSpec, "unknown dense source \"\(d.source)\" (see docs/features.md)")
            }
            guard names.insert(d.name ?? d.source).inserted else {
                throw FeaturesError(.invalidSpec, "dense feature \"\(d.name ?? d.source)\" appears twice; give one a name")
            }
            var low = -Float.infinity, high = Float.infinity
            if let clip = d.clip {
                guard clip.count == 2, clip[0].isFinite, clip[1].isFinite, clip[0] <= clip[1] else {
                    throw FeaturesError(.invalidSpec, "clip of \(d.source) must be [low, high] with low <= high")
                }
                low = Float(clip[0])
                high = Float(clip[1])
            }
            let defaultValue = d.default ?? 0
            guard defaultValue.isFinite else { throw FeaturesError(.invalidSpec, "default of \(d.source) must be finite") }
            var slot: Int?
            if d.standardize == true {
                slot = standardizedCount
                standardizedCount += 1
            }
            dense.append(CompiledDense(source: source, log1p: d.log1p ?? false, standardizeSlot: slot, clipLow: low, clipHigh: high, defaultValue: defaultValue))
        }
        let groups = spec.categorical.map { ([$0.field], $0.buckets) } + spec.crosses.map { ($0.fields, $0.buckets) }
        var offset: UInt64 = 0
        for (fields, buckets) in groups {
            guard buckets > 0, buckets <= 1 << 24 else {
                throw FeaturesError(.invalidSpec, "buckets of \(fields.joined(separator: "*")) must be in 1...16777216")
            }
            guard !fields.isEmpty, fields.count <= 4 else {
                throw FeaturesError(.invalidSpec, "a cross takes 2 to 4 fields")
            }
            var sources: [CategoricalSource] = []
            for field in fields {
                guard let source = CategoricalSource.names[field] else {
                    throw FeaturesError(.invalidSpec, "unknown categorical field \"\(field)\" (see docs/features.md)")
                }
                sources.append(source)
            }
            let seed = StableHash.hash(fields.joined(separator: "*"))
            sparse.append(CompiledSparse(sources: sources, seed: seed, offset: UInt32(offset), buckets: UInt32(buckets)))
            offset += UInt64(buckets)
        }
        guard offset <= UInt64(UInt32.max) else { throw FeaturesError(.invalidSpec, "sparse dimension exceeds 2^32") }
        sparseDimension = UInt32(offset)
    }
}
