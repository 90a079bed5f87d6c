// The sink's row encoders against the golden vectors of the chain's canonical encoding
// (computed independently in Python from sql/README.md), the reasons' text forms, and which
// decisions keep their feature vector.
import Foundation
import Testing
import VigilAudit
import VigilEngine
import VigilFeatures
import VigilKafka
import VigilPostgres
@testable import VigilService

@Suite("Audit rows")
struct AuditRowsTests {
    static let decidedAt = Date(timeIntervalSince1970: 1_772_366_400.5)
    static let partition = KafkaTopicPartition(topic: "transactions", partition: 3)

    static func decided(features: [Float] = [1, -2.5, 0]) -> AuditBatch.DecidedEvent {
        let reasons = ReasonList([RiskReason(kind: .classifier, name: "amount", weight: 0.42),
                                  RiskReason(kind: .reconstruction, name: "time.hour_sin", weight: 12.5)])
        let decision = Decision(eventID: "tx-1-42", cardID: "card-0000042", merchantID: "m-000007", amount: 123.45, currency: "EUR",
                                eventTimeMillis: 1_772_366_399_000, risk: 0.75, anomalyScore: 1.5, fraudProbability: 0.25, modelVersion: 7,
                                outcome: .review, reasons: reasons)
        return AuditBatch.DecidedEvent(partition: partition, offset: 42, recordTimestampMillis: 1_772_366_400_123, decision: decision, features: features)
    }

    func digest(_ fields: PostgresBinaryFields) -> String { hexString(LinkBuilder.digest(fields.bytes[...])) }

    @Test("decision, alert, dead-letter and label rows encode to the golden canonical bytes")
    func golden() throws {
        var decision = PostgresBinaryFields()
        try AuditRows.decision(Self.decided(), decidedAt: Self.decidedAt, into: &decision)
        #expect(decision.count == 262)
        #expect(digest(decision) == "90b76a4829694f9fbd05def087c5937f1ab695932c68b41b8a0e56e5900c3fa6")
        var alert = PostgresBinaryFields()
        try AuditRows.alert(Self.decided(), decidedAt: Self.decidedAt, into: &alert)
        #expect(digest(alert) == "282b55e9e0b166a62d114eee0fcc68b75339b851bc6eb03200bebce882a0abac")
        var dead = PostgresBinaryFields()
        try AuditRows.deadLetter(AuditBatch.DeadLetter(partition: Self.partition, offset: 43, key: Array("card-1".utf8),
                                                      payload: Array(#"{"event_id":"#.utf8), reasonCode: "malformed_json",
                                                      reason: "unexpected end of input"), receivedAt: Self.decidedAt, into: &dead)
        #expect(digest(dead) == "21805a82256cc6e8462a150b49c6e412a2ac63eaf63c0f79430cdc6595b5dce9")
        var label = PostgresBinaryFields()
        try AuditRows.label(AuditBatch.StreamLabel(partition: KafkaTopicPartition(topic: "labels", partition: 0), offset: 9,
                                                   label: LabelEvent(eventID: "tx-1-42", isFraud: true, timestampMillis: 1_772_400_000_000)),
                            into: &label)
        #expect(digest(label) == "2a54e5a83452181b32b5ab7c6c9976b2e072cf2eba0a153564a0f968a52701ef")
        // Without a kept vector, features is NULL.
        var lean = PostgresBinaryFields()
        try AuditRows.decision(Self.decided(features: []), decidedAt: Self.decidedAt, into: &lean)
        #expect(lean.bytes.suffix(4) == [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(lean.count == 262 - 48 + 4)
    }

    @Test("reasons: compact text for decisions, PostgreSQL's jsonb output form for alerts")
    func reasonTexts() {
        let reasons = ReasonList([RiskReason(kind: .rule, name: "rule.large_amount", weight: 220),
                                  RiskReason(kind: .reconstruction, name: "amount", weight: 12.5004),
                                  RiskReason(kind: .classifier, name: "card.count_1h", weight: -0.0004),
                                  RiskReason(kind: .classifier, name: "x", weight: .nan)])
        #expect(ReasonText.compact(reasons) == "p:rule.large_amount=220;r:amount=12.5;c:card.count_1h=0;c:x=nan")
        #expect(ReasonText.canonicalJSON(reasons) == #"[{"kind": "rule", "name": "rule.large_amount", "weight": 220}, {"kind": "reconstruction", "name": "amount", "weight": 12.5}, {"kind": "classifier", "name": "card.count_1h", "weight": 0}, {"kind": "classifier", "name": "x", "weight": null}]"#)
        #expect(ReasonText.compact(ReasonList()) == "")
        #expect(ReasonText.canonicalJSON(ReasonList()) == "[]")
        for (value, text) in [(Float(0.001), "0.001"), (-1.25, "-1.25"), (1e-5, "0"), (3e20, "1000000000000"), (100, "100"), (0.1, "0.1")] {
            #expect(ReasonText.decimal(value) == text, "\(value)")
        }
        var escaped = "["
        JSONText.append("a\"b\\c\n\u{1}\u{8}\u{c}é/", to: &escaped)
        #expect(escaped == #"["a\"b\\c\n\u0001\b\fé/""#)
        #expect(JSONText.string("tab\there\u{1F}") == #""tab\there\u001f""#)
        #expect(JSONText.string("") == #""""#)
    }

    @Test("alerted decisions keep their vector; a sampled share of the others does, by coordinates")
    func retention() {
        let alerts = FeatureRetention(mode: .alerts, sampleRate: 0.01)
        #expect(alerts.keeps(.review, partition: 0, offset: 1) && alerts.keeps(.block, partition: 5, offset: 9))
        let kept = (0..<100_000).filter { alerts.keeps(.allow, partition: 2, offset: Int64($0)) }.count
        #expect(kept > 800 && kept < 1_200)
        #expect(kept == (0..<100_000).filter { alerts.keeps(.allow, partition: 2, offset: Int64($0)) }.count)
        #expect(!FeatureRetention(mode: .alerts, sampleRate: 0).keeps(.allow, partition: 0, offset: 3))
        #expect(FeatureRetention(mode: .all, sampleRate: 0).keeps(.allow, partition: 0, offset: 3))
        #expect(!FeatureRetention(mode: .none, sampleRate: 1).keeps(.block, partition: 0, offset: 3))
        #expect(FeatureRetention(mode: .alerts, sampleRate: 1).keeps(.allow, partition: 0, offset: 3))
    }

    @Test("audit settings come from the config file's audit object and the environment; bad ones are refused by name")
    func settings() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-audit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let key = folder.appendingPathComponent("k").path
        try LinkSigner.generate(.ed25519).secret.write(toFile: key, atomically: true, encoding: .utf8)
        let file = folder.appendingPathComponent("serve.json")
        try Data(#"{"brokers": "a:1", "audit": {"features": "all", "feature_sample_rate": 0.25, "signing_key_file": "\#(key)"}}"#.utf8).write(to: file)
        var c = try ServeConfiguration.load(file: file.path, environment: [:])
        #expect(c.audit.features == .all && c.audit.featureSampleRate == 0.25 && c.audit.signingKeyFile == key)
        try c.validate()
        #expect(try c.audit.signer()?.algorithm == .ed25519)
        #expect(ServeConfiguration().audit.features == .alerts && ServeConfiguration().audit.signingKeyFile == nil)
        c = try ServeConfiguration.load(file: file.path, environment: ["VIGIL_AUDIT_SIGNING_KEY_FILE": "/nonexistent/key"])
        #expect(c.audit.signingKeyFile == "/nonexistent/key")
        #expect(throws: ServiceError.self) { try c.validate() }
        c.audit.signingKeyFile = nil
        c.audit.featureSampleRate = 1.5
        #expect(throws: ServiceError.self) { try c.validate() }
        try Data(#"{"audit": {"features": "some"}}"#.utf8).write(to: file)
        #expect(throws: ServiceError.self) { try ServeConfiguration.load(file: file.path, environment: [:]) }
    }
}
