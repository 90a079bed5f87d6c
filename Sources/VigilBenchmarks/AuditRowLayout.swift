// The decision-row layouts `tools/bench audit-row` compares: migration 0001's row and 0008's ("chosen"),
// each with one column or index changed, so every column's and index's cost is measured
// alone. A layout is a table definition and the COPY encoder of its columns.
import Foundation
import VigilPostgres
import VigilService

struct AuditRowLayout: Sendable {
    enum Features: String, Sendable { case everyRow = "every row", alertsOnly = "alerted rows only", absent = "no column" }
    enum Reasons: String, Sendable { case json = "jsonb", compact = "compact text", absent = "no column" }
    enum EventIndex: String, Sendable { case btree, hash, absent = "none" }
    enum CardIndex: String, Sendable {
        case cardTime = "btree (card_id, decided_at)", cardRecordTime = "btree (card_id, kafka_timestamp)"
        case card = "btree (card_id)", hash = "hash (card_id)", absent = "none"
    }

    struct Options: Sendable {
        /// 8-byte columns first, then 4-byte, then variable length: no alignment padding.
        var alignedOrder = true
        var features = Features.alertsOnly
        var reasons = Reasons.compact
        var decidedAt = true
        /// `decision` as a one-byte "char" instead of text.
        var decisionChar = false
        var key = true
        /// The unique key as (kafka_partition, kafka_offset, topic, kafka_timestamp): comparisons
        /// decided by integers. Otherwise (topic, kafka_partition, kafka_offset, kafka_timestamp).
        var partitionFirstKey = true
        /// Identifier columns (topic, event_id, card_id, merchant_id) with COLLATE "C": btree
        /// comparisons are memcmp, whatever the database's locale.
        var cCollation = false
        var eventIndex = EventIndex.hash
        var cardIndex = CardIndex.hash
        var partitioned = true
        /// Event ids as random UUIDs: an event index then takes random inserts, as with many producers.
        var randomEventIDs = false
    }

    struct Column: Sendable {
        var name: String
        var type: String
        var encode: @Sendable (inout PostgresCopyWriter, AuditBatch.DecidedEvent, Date) throws -> Void
    }

    var name: String
    var note: String
    var options: Options

    static let legacy = Options(alignedOrder: false, features: .everyRow, reasons: .json, partitionFirstKey: false, cCollation: false,
                                eventIndex: .btree, cardIndex: .cardTime)

    /// Migration 0008's row: every other layout changes one thing of it (or is 0001's).
    static let chosen = Options()

    static func variants() -> [AuditRowLayout] {
        func v(_ name: String, _ note: String, _ change: (inout Options) -> Void) -> AuditRowLayout {
            var o = chosen
            change(&o)
            return AuditRowLayout(name: name, note: note, options: o)
        }
        var compact = legacy
        compact.features = .alertsOnly
        compact.reasons = .compact
        return [
            AuditRowLayout(name: "legacy", note: "migration 0001's row: features on every row, jsonb reasons, key (topic, partition, offset, ts), btree (event_id), btree (card_id, decided_at)", options: legacy),
            AuditRowLayout(name: "legacy-compact", note: "0001's columns and indexes, features on alerted rows only, compact reasons", options: compact),
            AuditRowLayout(name: "chosen", note: "migration 0008: aligned order, features on alerted rows, compact reasons, key (partition, offset, topic, ts), hash (event_id), hash (card_id)", options: chosen),
            v("chosen+features", "with features on every row") { $0.features = .everyRow },
            v("chosen+json", "with jsonb reasons") { $0.reasons = .json },
            v("chosen-reasons", "without reasons") { $0.reasons = .absent },
            v("chosen-decided_at", "without decided_at") { $0.decidedAt = false },
            v("chosen+char", "with decision as \"char\"") { $0.decisionChar = true },
            v("chosen-aligned", "with 0001's column order") { $0.alignedOrder = false },
            v("chosen+topic_first_key", "with the key (topic, partition, offset, ts)") { $0.partitionFirstKey = false },
            v("chosen+c_collation", "with COLLATE \"C\" on the identifier columns") { $0.cCollation = true },
            v("chosen+event_btree", "with btree (event_id)") { $0.eventIndex = .btree },
            v("chosen-event_index", "without an event_id index") { $0.eventIndex = .absent },
            v("chosen+card_btree", "with btree (card_id)") { $0.cardIndex = .card },
            v("chosen+card_time_btree", "with btree (card_id, kafka_timestamp)") { $0.cardIndex = .cardRecordTime },
            v("chosen-card_index", "without a card index") { $0.cardIndex = .absent },
            v("chosen-key_only", "with the unique key and no other index") { $0.eventIndex = .absent; $0.cardIndex = .absent },
            v("chosen-heap", "without any index or key") { $0.eventIndex = .absent; $0.cardIndex = .absent; $0.key = false },
            v("chosen+random_ids", "with random UUID event ids instead of the simulator's sequential ones") { $0.randomEventIDs = true },
            v("chosen+random_ids+event_btree", "with random UUID event ids and btree (event_id)") { $0.randomEventIDs = true; $0.eventIndex = .btree },
        ]
    }

    var columns: [Column] {
        let o = options
        let kafkaTimestamp = Column(name: "kafka_timestamp", type: "timestamptz NOT NULL") { w, r, _ in
            try w.append(Date(timeIntervalSince1970: Double(r.recordTimestampMillis) / 1000))
        }
        let topic = Column(name: "topic", type: o.cCollation ? "text COLLATE \"C\" NOT NULL" : "text NOT NULL") { w, r, _ in try w.append(r.partition.topic) }
        let partition = Column(name: "kafka_partition", type: "integer NOT NULL") { w, r, _ in w.append(r.partition.partition) }
        let offset = Column(name: "kafka_offset", type: "bigint NOT NULL") { w, r, _ in w.append(r.offset) }
        let eventID = o.randomEventIDs
            ? Column(name: "event_id", type: o.cCollation ? "text COLLATE \"C\" NOT NULL" : "text NOT NULL") { w, r, _ in try w.append(Self.uuid(r)) }
            : Column(name: "event_id", type: o.cCollation ? "text COLLATE \"C\" NOT NULL" : "text NOT NULL") { w, r, _ in try w.append(r.decision.eventID) }
        let eventTime = Column(name: "event_time", type: "timestamptz NOT NULL") { w, r, _ in
            try w.append(Date(timeIntervalSince1970: Double(r.decision.eventTimeMillis) / 1000))
        }
        let decidedAt = Column(name: "decided_at", type: "timestamptz NOT NULL") { w, _, at in try w.append(at) }
        let card = Column(name: "card_id", type: o.cCollation ? "text COLLATE \"C\" NOT NULL" : "text NOT NULL") { w, r, _ in try w.append(r.decision.cardID) }
        let merchant = Column(name: "merchant_id", type: o.cCollation ? "text COLLATE \"C\" NOT NULL" : "text NOT NULL") { w, r, _ in try w.append(r.decision.merchantID) }
        let amount = Column(name: "amount", type: "double precision NOT NULL") { w, r, _ in w.append(r.decision.amount) }
        let currency = Column(name: "currency", type: "text NOT NULL") { w, r, _ in try w.append(r.decision.currency) }
        let anomaly = Column(name: "anomaly_score", type: "real NOT NULL") { w, r, _ in w.append(r.decision.anomalyScore) }
        let classifier = Column(name: "classifier_score", type: "real NOT NULL") { w, r, _ in w.append(r.decision.fraudProbability) }
        let risk = Column(name: "risk", type: "real NOT NULL") { w, r, _ in w.append(r.decision.risk) }
        let model = Column(name: "model_version", type: "bigint NOT NULL") { w, r, _ in w.append(r.decision.modelVersion) }
        let decision = o.decisionChar
            ? Column(name: "decision", type: "\"char\" NOT NULL") { w, r, _ in
                w.append(bytea: [r.decision.outcome.rawValue.utf8.first!])
            }
            : Column(name: "decision", type: "text NOT NULL") { w, r, _ in try w.append(r.decision.outcome.rawValue) }
        var reasons: Column?
        switch o.reasons {
        case .json: reasons = Column(name: "reasons", type: "jsonb NOT NULL") { w, r, _ in try w.append(jsonb: ReasonText.canonicalJSON(r.decision.reasons)) }
        case .compact: reasons = Column(name: "reasons", type: "text NOT NULL") { w, r, _ in try w.append(ReasonText.compact(r.decision.reasons)) }
        case .absent: reasons = nil
        }
        var features: Column?
        switch o.features {
        case .everyRow: features = Column(name: "features", type: "real[]") { w, r, _ in w.append(floats: r.features.map { Optional($0) }) }
        case .alertsOnly:
            features = Column(name: "features", type: "real[]") { w, r, _ in
                if r.decision.outcome.raisesAlert { w.append(floats: r.features.map { Optional($0) }) } else { w.appendNull() }
            }
        case .absent: features = nil
        }
        var result: [Column]
        if o.alignedOrder {
            result = [kafkaTimestamp, offset, eventTime] + (o.decidedAt ? [decidedAt] : []) + [amount, model, partition, anomaly, classifier, risk]
            if o.decisionChar { result.append(decision) }
            result += [topic, eventID, card, merchant, currency]
            if !o.decisionChar { result.append(decision) }
        } else {
            result = [kafkaTimestamp, topic, partition, offset, eventID, eventTime] + (o.decidedAt ? [decidedAt] : [])
            result += [card, merchant, amount, currency, anomaly, classifier, risk, model, decision]
        }
        if let reasons { result.append(reasons) }
        if let features { result.append(features) }
        return result
    }

    /// A UUID-shaped id derived from the row's coordinates (stable across rounds, random order).
    static func uuid(_ r: AuditBatch.DecidedEvent) -> String {
        var g = UInt64(bitPattern: r.offset) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(r.partition.partition)
        var hex = ""
        for i in 0..<32 {
            if i % 16 == 0 { g = (g ^ (g >> 31)) &* 0xBF58_476D_1CE4_E5B9; g ^= g >> 27 }
            hex.append(String(g >> UInt64((i % 16) * 4) & 0xF, radix: 16).first!)
            if [7, 11, 15, 19].contains(i) { hex.append("-") }
        }
        return hex
    }

    /// CREATE statements for the layout's table `s.table` (and its partitions).
    func ddl(schema s: String, table: String, day: Date) -> [String] {
        let o = options
        let t = quoteIdentifier(table)
        var statements: [String] = []
        let body = columns.map { "\(quoteIdentifier($0.name)) \($0.type)" }
            + (o.key ? [o.partitionFirstKey ? "UNIQUE (kafka_partition, kafka_offset, topic, kafka_timestamp)"
                                            : "UNIQUE (topic, kafka_partition, kafka_offset, kafka_timestamp)"] : [])
        if o.partitioned {
            statements.append("CREATE TABLE \(s).\(t) (\(body.joined(separator: ", "))) PARTITION BY RANGE (kafka_timestamp)")
            let from = ISO8601DateFormatter().string(from: day), to = ISO8601DateFormatter().string(from: day.addingTimeInterval(86_400))
            statements.append("CREATE TABLE \(s).\(quoteIdentifier(table + "_today")) PARTITION OF \(s).\(t) FOR VALUES FROM ('\(from)') TO ('\(to)')")
            statements.append("CREATE TABLE \(s).\(quoteIdentifier(table + "_default")) PARTITION OF \(s).\(t) DEFAULT")
        } else {
            statements.append("CREATE TABLE \(s).\(t) (\(body.joined(separator: ", ")))")
        }
        switch o.eventIndex {
        case .btree: statements.append("CREATE INDEX ON \(s).\(t) (event_id)")
        case .hash: statements.append("CREATE INDEX ON \(s).\(t) USING hash (event_id)")
        case .absent: break
        }
        switch o.cardIndex {
        case .cardTime: statements.append("CREATE INDEX ON \(s).\(t) (card_id, \(o.decidedAt ? "decided_at" : "kafka_timestamp"))")
        case .cardRecordTime: statements.append("CREATE INDEX ON \(s).\(t) (card_id, kafka_timestamp)")
        case .card: statements.append("CREATE INDEX ON \(s).\(t) (card_id)")
        case .hash: statements.append("CREATE INDEX ON \(s).\(t) USING hash (card_id)")
        case .absent: break
        }
        return statements
    }
}
