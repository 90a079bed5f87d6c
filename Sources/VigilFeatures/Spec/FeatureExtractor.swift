// Turns events into feature vectors while keeping the streaming per-entity state.
//
// One extractor per Kafka partition: card_id is the message key, so every card lives in exactly
// one partition, and an extractor's state is a pure function of its partition's event (and
// label) sequence. That makes per-partition snapshot/restore exact across rebalances. Merchant
// and terminal aggregates are therefore per-partition views (see docs/features.md).
import Foundation

/// Feature extraction with its state. Not thread-safe by design: one owner (a partition worker)
/// calls it; it is Sendable so ownership can move between tasks.
public struct FeatureExtractor: Sendable {
    public let spec: FeatureSpec
    public let configuration: FeatureStateConfiguration
    let compiled: CompiledSpec
    var cards: EntityTable<CardState>
    var merchants: EntityTable<MerchantState>
    var terminals: EntityTable<MerchantState>
    var recent: RecentEventIndex
    /// Welford statistics per standardised feature: count, mean, M2.
    var standardizer: [Double]
    /// Event-time day of the last idle sweep.
    var sweptDay: UInt32 = 0
    /// Last computed time features (a pure cache: not part of the state or the snapshot).
    var clockCache: ClockFeatures?
    /// Where batched extraction folds the words it loads early, so the loads are kept.
    var prefetchSink: UInt64 = 0

    public init(spec: FeatureSpec, configuration: FeatureStateConfiguration = FeatureStateConfiguration()) throws(FeaturesError) {
        self.spec = spec
        self.configuration = configuration
        compiled = try CompiledSpec(spec)
        cards = EntityTable(maxEntities: configuration.maxCards,
                            initialCapacity: configuration.expectedCards > 0
                                ? Int(Double(min(configuration.expectedCards, configuration.maxCards)) / EntityTable<CardState>.maxLoad) + 1
                                : 1024)
        merchants = EntityTable(maxEntities: configuration.maxMerchants)
        terminals = EntityTable(maxEntities: configuration.maxTerminals)
        recent = RecentEventIndex(capacity: configuration.recentEvents)
        standardizer = Array(repeating: 0, count: compiled.standardizedCount * 3)
    }

    public var denseCount: Int { compiled.dense.count }
    public var sparseCount: Int { compiled.sparse.count }
    /// Size of the hashed sparse space (sum of all buckets).
    public var sparseDimension: UInt32 { compiled.sparseDimension }
    /// Start of each sparse slot's range in the sparse space.
    public var sparseOffsets: [UInt32] { compiled.sparse.map(\.offset) }
    /// Number of buckets of each sparse slot.
    public var sparseBuckets: [UInt32] { compiled.sparse.map(\.buckets) }
    /// Names of the dense features and sparse slots, in order (for reasons and model files).
    public var denseNames: [String] { spec.denseNames }
    public var sparseNames: [String] { spec.sparseNames }

    /// A vector shaped for this spec, to pass to `extract(_:into:)` again and again.
    public func makeVector() -> FeatureVector { FeatureVector(denseCount: denseCount, sparseCount: sparseCount) }

    // MARK: Extraction

    static let windows: (Double, Double, Double) = (3600, 86_400, 604_800)
    static let labelWindow: Double = 30 * 86_400
    static let firstGapSeconds: Float = 30 * 86_400

    /// Computes the features of `event` from the state *before* it, then folds the event into the
    /// state. `vector` must come from `makeVector()`; it is overwritten in place.
    public mutating func extract(_ event: TransactionEvent, into vector: inout FeatureVector) {
        let now = UInt32(clamping: event.timestampMillis / 1000)
        sweepIfNewDay(now)
        let amount = event.amount
        let logAmount = Foundation.log1p(amount)
        var hashes = EventHashes()
        let cardKey = hashes.get(.cardID, event)
        let merchantKey = hashes.get(.merchantID, event)
        let terminalKey = event.terminalID == nil ? 0 : hashes.get(.terminalID, event)
        let countryTag = event.country == nil ? nil : CardState.countryTag(hashes.get(.country, event))
        let channelBit: UInt8? = event.channel == nil ? nil : 1 << UInt8(truncatingIfNeeded: hashes.get(.channel, event) & 7)

        // Card: prior view, then update, sharing one set of decay factors.
        let cardSlot = cards.findOrInsert(cardKey, now: now)
        let cardDecay = Decay(from: cards[cardSlot].lastSeconds, to: now)
        let card = CardFeatures(cards[cardSlot], decay: cardDecay, now: now, logAmount: logAmount, merchant: merchantKey, countryTag: countryTag, channelBit: channelBit)
        Self.update(&cards[cardSlot], decay: cardDecay, now: now, amount: amount, logAmount: logAmount, merchant: merchantKey, countryTag: countryTag, channelBit: channelBit)

        let merchantSlot = merchants.findOrInsert(merchantKey, now: now)
        let merchantDecay = Decay(from: merchants[merchantSlot].lastSeconds, to: now, week: false)
        let merchant = MerchantFeatures(merchants[merchantSlot], decay: merchantDecay, configuration: configuration)
        Self.update(&merchants[merchantSlot], decay: merchantDecay, now: now, amount: amount)

        var terminal = MerchantFeatures.absent(configuration)
        var hasTerminal = false
        if terminalKey != 0 {
            hasTerminal = true
            let slot = terminals.findOrInsert(terminalKey, now: now)
            let decay = Decay(from: terminals[slot].lastSeconds, to: now, week: false)
            terminal = MerchantFeatures(terminals[slot], decay: decay, configuration: configuration)
            Self.update(&terminals[slot], decay: decay, now: now, amount: amount)
        }
        recent.record(.init(event: StableHash.hash(event.eventID), card: cardKey, merchant: merchantKey, terminal: terminalKey))

        let local = event.timestampMillis / 1000 + compiled.utcOffsetSeconds
        let clock = timeFeatures(localSecond: local)
        FeatureReadings.write(card: card, merchant: merchant, terminal: hasTerminal ? terminal : nil, clock: clock,
                              hasCountry: countryTag != nil, hasChannel: channelBit != nil, into: &vector.readings)

        for i in 0..<compiled.dense.count {
            let d = compiled.dense[i]
            var x: Double
            switch d.source {
            case .amount: x = amount
            case .extra(let hash): x = event.extraFeatures.first(where: { $0.keyHash == hash })?.value ?? d.defaultValue
            case .time(let t): x = clock.value(t)
            case .card(let a): x = Double(card.value(a))
            case .merchant(let a): x = Double(merchant.value(a))
            case .terminal(let a): x = Double(terminal.value(a))
            }
            // Single precision: the output is a Float anyway, and log1pf is about twice as fast.
            if d.log1p { x = Double(x < 0 ? -Foundation.log1p(Float(-x)) : Foundation.log1p(Float(x))) }
            if let slot = d.standardizeSlot { x = standardize(x, slot: slot) }
            vector.dense[i] = min(max(Float(x), d.clipLow), d.clipHigh)
        }

        hashes.hour = UInt64(clock.secondOfDay / 3600) &+ 1
        hashes.dayOfWeek = UInt64(clock.dayOfWeek) &+ 1
        hashes.amountBucket = UInt64(max(0, min(40, Foundation.log2(amount + 1).rounded(.down)))) &+ 1
        for i in 0..<compiled.sparse.count {
            let s = compiled.sparse[i]
            var h = s.seed
            for source in s.sources { h = StableHash.combine(h, hashes.get(source, event)) }
            vector.sparse[i] = s.offset + UInt32(truncatingIfNeeded: h.multipliedFullWidth(by: UInt64(s.buckets)).high)
        }
    }

    /// Time-of-day and day-of-week values; the trigonometry is cached per local second, since at
    /// high rates many consecutive events share one.
    mutating func timeFeatures(localSecond: Int64) -> ClockFeatures {
        if let cached = clockCache, cached.localSecond == localSecond { return cached }
        let clock = ClockFeatures(localSecond: localSecond)
        clockCache = clock
        return clock
    }

    /// Extracts into a fresh vector (convenient; the hot path should reuse one).
    public mutating func extract(_ event: TransactionEvent) -> FeatureVector {
        var vector = makeVector()
        extract(event, into: &vector)
        return vector
    }

    /// Online standardisation with the statistics before this value, then folds it in (Welford).
    mutating func standardize(_ x: Double, slot: Int) -> Double {
        let base = slot * 3
        let n = standardizer[base], mean = standardizer[base + 1], m2 = standardizer[base + 2]
        let z = n >= 2 && m2 > 0 ? (x - mean) / (m2 / (n - 1)).squareRoot() : 0
        let n1 = n + 1
        let delta = x - mean
        let mean1 = mean + delta / n1
        standardizer[base] = n1
        standardizer[base + 1] = mean1
        standardizer[base + 2] = m2 + delta * (x - mean1)
        return z
    }

    /// Runs the idle sweep once per event-time day (deterministic: driven by event time only).
    mutating func sweepIfNewDay(_ now: UInt32) {
        let day = now / 86_400
        guard day > sweptDay else { return }
        if sweptDay != 0 { evictIdle(asOfSeconds: now) }
        sweptDay = day
    }

    /// Evicts entities idle longer than `configuration.idleEviction` as of `seconds` (event time).
    @discardableResult
    public mutating func evictIdle(asOfSeconds seconds: UInt32) -> Int {
        let idle = configuration.idleSeconds
        guard seconds > idle else { return 0 }
        let cutoff = seconds - idle
        return cards.evict(idleSince: cutoff) + merchants.evict(idleSince: cutoff) + terminals.evict(idleSince: cutoff)
    }
}
