// Feature values on a hand-worked sequence, determinism, snapshot/restore and memory bounds.
import Foundation
import Testing
@testable import VigilFeatures

/// 2026-03-01T00:00:00Z, a Sunday.
let sundayMidnight: Int64 = 1_772_323_200

func tx(_ id: String, _ card: String, at seconds: Int64, _ amount: Double, merchant: String = "m1", country: String? = "FR",
        channel: String? = "pos", terminal: String? = nil, mcc: String? = "5411") -> TransactionEvent {
    TransactionEvent(eventID: id, timestampMillis: seconds * 1000, cardID: card, merchantID: merchant, amount: amount,
                     currency: "EUR", mcc: mcc, country: country, channel: channel, terminalID: terminal)
}

private let workedSpec = FeatureSpec(
    dense: [
        .init("card.count_1h"), .init("card.count_24h"), .init("card.amount_sum_1h"), .init("card.seconds_since_last"),
        .init("card.new_merchant"), .init("card.new_country"), .init("card.new_channel"), .init("card.transactions"),
        .init("card.amount_ratio"), .init("card.amount_zscore"), .init("card.fraud_labels"),
        .init("merchant.count_1h"), .init("merchant.amount_avg_24h"), .init("merchant.risk"),
        .init("amount", name: "amount_std", log1p: true, standardize: true, clip: -5...5),
        .init("time.day_of_week"), .init("time.hour"), .init("time.hour_cos"), .init("features.velocity", default: -1),
    ],
    categorical: [.init("mcc", buckets: 100), .init("country", buckets: 50)],
    crosses: [.init(["mcc", "country"], buckets: 1000)])

private func approx(_ a: Float, _ b: Double, _ tolerance: Double = 1e-4) -> Bool {
    abs(Double(a) - b) <= tolerance * max(1, abs(b))
}

@Suite struct FeatureExtractorTests {
    @Test func handWorkedSequence() throws {
        var fx = try FeatureExtractor(spec: workedSpec)
        let names = workedSpec.denseNames
        func value(_ v: FeatureVector, _ name: String) -> Float { v.dense[names.firstIndex(of: name)!] }

        var e1 = tx("e1", "c1", at: sundayMidnight, 100)
        e1.extraFeatures = [ExtraFeature(key: "velocity", value: 7)]
        let v1 = fx.extract(e1)
        #expect(value(v1, "card.count_1h") == 0)
        #expect(value(v1, "card.transactions") == 0)
        #expect(value(v1, "card.seconds_since_last") == 30 * 86_400)
        #expect(value(v1, "card.new_merchant") == 0) // first transaction: no history to be new against
        #expect(value(v1, "card.amount_ratio") == 1)
        #expect(value(v1, "merchant.risk") == 0.01) // the prior
        #expect(value(v1, "amount_std") == 0) // fewer than two observations
        #expect(value(v1, "time.day_of_week") == 6) // Sunday, Monday = 0
        #expect(value(v1, "time.hour") == 0)
        #expect(value(v1, "time.hour_cos") == 1)
        #expect(value(v1, "features.velocity") == 7)

        let v2 = fx.extract(tx("e2", "c1", at: sundayMidnight + 1800, 50))
        #expect(approx(value(v2, "card.count_1h"), exp(-0.5)))
        #expect(approx(value(v2, "card.count_24h"), exp(-1800.0 / 86_400)))
        #expect(approx(value(v2, "card.amount_sum_1h"), 100 * exp(-0.5)))
        #expect(value(v2, "card.seconds_since_last") == 1800)
        #expect(value(v2, "card.new_merchant") == 0)
        #expect(value(v2, "card.new_country") == 0)
        #expect(value(v2, "card.transactions") == 1)
        #expect(approx(value(v2, "card.amount_ratio"), 51.0 / 101.0))
        #expect(value(v2, "card.amount_zscore") == 0) // needs two transactions of history
        #expect(approx(value(v2, "merchant.count_1h"), exp(-0.5)))
        #expect(value(v2, "merchant.amount_avg_24h") == 100)
        #expect(value(v2, "features.velocity") == -1) // the spec's default for an absent key

        let v3 = fx.extract(tx("e3", "c1", at: sundayMidnight + 3600, 1000, merchant: "m2", country: "DE", channel: "online"))
        #expect(approx(value(v3, "card.count_1h"), (exp(-0.5) + 1) * exp(-0.5)))
        #expect(value(v3, "card.new_merchant") == 1)
        #expect(value(v3, "card.new_country") == 1)
        #expect(value(v3, "card.new_channel") == 1)
        // EWMA after two transactions (alpha = 1/2): mean 4.2735, variance 0.11672.
        let x1 = log1p(100.0), x2 = log1p(50.0), x3 = log1p(1000.0)
        let mean = (x1 + x2) / 2, variance = 0.5 * ((x2 - x1) * (x2 - x1) / 2)
        #expect(approx(value(v3, "card.amount_zscore"), (x3 - mean) / (variance + 0.01).squareRoot()))
        // Online standardisation: z = (x3 - mean) / sample sd of {x1, x2} = 5.45, clipped to 5.
        #expect(value(v3, "amount_std") == 5)
        #expect(value(v3, "merchant.count_1h") == 0) // m2 has never been seen

        // A fraud label for e1 reaches card c1 and merchant m1.
        let matched = fx.apply(label: LabelEvent(eventID: "e1", isFraud: true, timestampMillis: (sundayMidnight + 3700) * 1000))
        let unmatched = fx.apply(label: LabelEvent(eventID: "never-seen", isFraud: true, timestampMillis: 0))
        #expect(matched && !unmatched)
        let v4 = fx.extract(tx("e4", "c1", at: sundayMidnight + 7200, 20))
        #expect(approx(value(v4, "merchant.risk"), (1 + 0.01 * 20) / (1 + 20)))
        #expect(approx(value(v4, "card.fraud_labels"), exp(-3600.0 / (30 * 86_400))))

        // Sparse: one index per slot, inside its slot's range; the cross changes with the country.
        #expect(v1.sparse.count == 3)
        #expect(v1.sparse[0] < 100 && (100..<150).contains(v1.sparse[1]) && (150..<1150).contains(v1.sparse[2]))
        #expect(v1.sparse == v2.sparse)
        #expect(v3.sparse[1] != v1.sparse[1] || v3.sparse[2] != v1.sparse[2], "\(v1.sparse) \(v3.sparse)")
        var countrySlots = Set<UInt32>()
        for (i, country) in ["FR", "DE", "BE", "NL", "IT", "ES", "PT", "PL"].enumerated() {
            countrySlots.insert(fx.extract(tx("s\(i)", "c9", at: sundayMidnight + 9000, 5, country: country)).sparse[1])
        }
        #expect(countrySlots.count >= 5) // 8 countries in 50 buckets rarely collide much
        #expect(fx.sparseDimension == 1150)
        #expect(fx.sparseOffsets == [0, 100, 150])
    }

    @Test func snapshotRestoreGivesIdenticalFeatures() throws {
        let events = SyntheticStream.events(count: 4000, cards: 300, merchants: 40, seed: 11)
        var reference = try FeatureExtractor(spec: .standard, configuration: .init(maxCards: 250, recentEvents: 1024))
        var first = reference
        var expected: [FeatureVector] = []
        for (i, e) in events.enumerated() {
            expected.append(reference.extract(e))
            if i % 7 == 3 { reference.apply(label: LabelEvent(eventID: events[i / 2].eventID, isFraud: i % 3 == 0, timestampMillis: e.timestampMillis)) }
        }
        var restored = try FeatureExtractor(spec: .standard, configuration: .init(maxCards: 250, recentEvents: 1024))
        for (i, e) in events.enumerated() {
            if i == 2000 {
                let bytes = first.snapshot()
                try restored.restore(from: bytes)
                #expect(restored.snapshot() == bytes)
                first = restored
            }
            let v = first.extract(e)
            #expect(v.dense.map(\.bitPattern) == expected[i].dense.map(\.bitPattern), "event \(i)")
            #expect(v.sparse == expected[i].sparse)
            if i % 7 == 3 { first.apply(label: LabelEvent(eventID: events[i / 2].eventID, isFraud: i % 3 == 0, timestampMillis: e.timestampMillis)) }
        }
        #expect(first.memory.evictedCards > 0) // the bound of 250 cards was exercised across the restore
    }

    @Test func snapshotRejectsCorruptionAndOtherSpecs() throws {
        var fx = try FeatureExtractor(spec: .standard)
        for e in SyntheticStream.events(count: 100, cards: 10, merchants: 5, seed: 1) { _ = fx.extract(e) }
        var bytes = fx.snapshot()
        var other = try FeatureExtractor(spec: FeatureSpec(dense: [.init("amount")]))
        #expect(throws: FeaturesError.self) { try other.restore(from: bytes) }
        bytes[bytes.count / 2] ^= 0x55
        var same = try FeatureExtractor(spec: .standard)
        #expect(throws: FeaturesError.self) { try same.restore(from: bytes) }
        #expect(throws: FeaturesError.self) { try same.restore(from: Array(bytes.prefix(10))) }
        #expect(same.memory.cards == 0)
    }

    @Test func evictionKeepsMemoryWithinBound() throws {
        var fx = try FeatureExtractor(spec: .standard, configuration: .init(maxCards: 1000, maxMerchants: 100, maxTerminals: 100))
        var v = fx.makeVector()
        for i in 0..<10_000 {
            fx.extract(tx("e\(i)", "card-\(i)", at: sundayMidnight + Int64(i), 10, merchant: "m\(i % 500)", terminal: "t\(i % 700)"), into: &v)
            #expect(fx.memory.cards <= 1000)
            #expect(fx.memory.merchants <= 100 && fx.memory.terminals <= 100)
        }
        let memory = fx.memory
        #expect(memory.evictedCards >= 9000)
        #expect(memory.cards >= 800) // evicts a fifth at a time, never everything
        #expect(memory.cardBytes <= (1000 * 10 / 8 + 1) * 96)
        #expect(MemoryLayout<CardState>.stride + 8 <= 96)
        // Idle eviction: a card silent for more than 30 days is gone after the next day starts.
        let late = sundayMidnight + 40 * 86_400
        fx.extract(tx("late", "late-card", at: late, 10), into: &v)
        #expect(fx.memory.cards == 1)
    }

    @Test func sameEventsGiveSameFeaturesBitForBit() throws {
        let events = SyntheticStream.events(count: 1000, cards: 50, merchants: 10, seed: 3)
        var a = try FeatureExtractor(spec: .standard)
        var b = try FeatureExtractor(spec: .standard)
        for e in events {
            let va = a.extract(e), vb = b.extract(e)
            #expect(va.dense.map(\.bitPattern) == vb.dense.map(\.bitPattern))
        }
        #expect(a.snapshot() == b.snapshot())
    }

    @Test func batchedExtractionMatchesOneAtATime() throws {
        let events = SyntheticStream.events(count: 1000, cards: 120, merchants: 10, seed: 5)
        var single = try FeatureExtractor(spec: .standard)
        var batched = try FeatureExtractor(spec: .standard)
        let expected = events.map { single.extract($0) }
        var vectors: [FeatureVector] = []
        var got: [FeatureVector] = []
        for start in stride(from: 0, to: events.count, by: 37) {
            batched.extract(batch: events[start..<min(start + 37, events.count)], into: &vectors)
            got += vectors
        }
        #expect(got.map { $0.dense.map(\.bitPattern) } == expected.map { $0.dense.map(\.bitPattern) })
        #expect(got.map(\.sparse) == expected.map(\.sparse))
        #expect(batched.snapshot() == single.snapshot())
    }

    @Test func specHashIsStableAndSpecsAreChecked() throws {
        // A golden value: the hash must never depend on the process (Swift's Hasher is seeded).
        #expect(StableHash.hash("card-1") == StableHash.hash(Array("card-1".utf8)))
        #expect(StableHash.hash("card-1") == 3_889_914_603_958_869_906)
        #expect(FeatureSpec.standard.specHashHex == "3cf564b657f31a53")
        #expect(FeatureSpec.standard.specHashHex.count == 16)
        var changed = FeatureSpec.standard
        changed.categorical[0].buckets += 1
        #expect(changed.specHash != FeatureSpec.standard.specHash)
        let json = try JSONEncoder().encode(FeatureSpec.standard)
        #expect(try FeatureSpec.parse(json) == FeatureSpec.standard)
        #expect(throws: FeaturesError.self) { try FeatureSpec.parse(Data(#"{"dense":[{"source":"card.nope"}],"categorical":[],"crosses":[]}"#.utf8)) }
        #expect(throws: FeaturesError.self) { try FeatureSpec.parse(Data(#"{"dense":[],"categorical":[{"field":"mcc","buckets":0}],"crosses":[]}"#.utf8)) }
        #expect(throws: FeaturesError.self) { try FeatureSpec.parse(Data(#"{"dense":[{"source":"amount","clip":[3,1]}],"categorical":[],"crosses":[]}"#.utf8)) }
        #expect(workedSpec.denseNames.contains("amount_std"))
        // The example config file is the standard spec (same hash, so models trained on either match).
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../config/features.json").path
        let loaded = try FeatureSpec.load(path: file)
        #expect(loaded.specHash == FeatureSpec.standard.specHash)
        // The earlier releases' standard spec: the golden hash their models carry, and its file.
        #expect(FeatureSpec.standardWithWeekdays.specHashHex == "03a50394b1524a27")
        let weekday = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../config/features-weekday.json").path
        #expect(try FeatureSpec.load(path: weekday).specHash == FeatureSpec.standardWithWeekdays.specHash)
        #expect(FeatureSpec.shipped.first == FeatureSpec.standard)
        #expect(throws: FeaturesError.self) { try FeatureSpec.load(path: "/nonexistent/features.json") }
        #expect(workedSpec.sparseNames == ["mcc", "country", "mcc*country"])
    }
}

/// A small deterministic event stream for tests (its own LCG; no randomness from the system).
enum SyntheticStream {
    static func events(count: Int, cards: Int, merchants: Int, seed: UInt64) -> [TransactionEvent] {
        var state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        var t = sundayMidnight
        let countries = ["FR", "DE", "BE", "NL"], channels = ["pos", "online", "atm"]
        return (0..<count).map { i in
            t += Int64(next() % 600)
            return tx("ev-\(seed)-\(i)", "card-\(next() % UInt64(cards))", at: t, Double(next() % 50_000) / 100 + 0.5,
                      merchant: "m\(next() % UInt64(merchants))", country: countries[Int(next() % 4)],
                      channel: channels[Int(next() % 3)], terminal: "t\(next() % UInt64(merchants * 2))", mcc: "\(5000 + next() % 20)")
        }
    }
}

struct FeatureAvailabilityTests {
    @Test func featuresNeedingAnAbsentFieldAreLeftOutAndTheRestKeepTheirOrder() throws {
        let standard = FeatureSpec.standard
        #expect(standard.withoutFeatures(needing: []) == standard)
        let noCard = standard.withoutFeatures(needing: [.card])
        #expect(noCard.denseNames == standard.denseNames.filter { !$0.hasPrefix("card.") })
        #expect(noCard.sparseNames == standard.sparseNames)
        let noMerchant = standard.withoutFeatures(needing: [.merchant, .mcc])
        #expect(!noMerchant.denseNames.contains("card.new_merchant") && noMerchant.denseNames.contains("card.new_country"))
        #expect(!noMerchant.denseNames.contains { $0.hasPrefix("merchant.") })
        #expect(noMerchant.sparseNames == ["country", "channel", "time.hour", "country*channel"])
        // Still a valid spec the extractor takes.
        let extractor = try FeatureExtractor(spec: standard.withoutFeatures(needing: Set(EventField.allCases)))
        #expect(extractor.denseNames == ["amount", "time.hour_sin", "time.hour_cos"])
    }
}
