// Synchronous scoring without servers: the partitioner agrees with Kafka's clients, the answer
// body is what the OpenAPI document says (and the served document is the repository's), the
// queue admits, refuses and joins requests as documented, and the settings parse.
import Foundation
import Prometheus
import Testing
import VigilEngine
import VigilFeatures
@testable import VigilService

@Suite struct ScoringTests {
    static let repositoryDocument = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("api/openapi.json")

    @Test("CRC-32 and murmur2 give the values of zlib and of Kafka's own test vectors")
    func partitioner() {
        #expect(CardPartitioner.crc32(Array("123456789".utf8)) == 0xcbf4_3926)
        #expect(CardPartitioner.crc32([]) == 0)
        let vectors: [(String, Int32)] = [("21", -973_932_308), ("foobar", -790_332_482), ("a-little-bit-long-string", -985_981_536),
                                          ("a-little-bit-longer-string", -1_486_304_829),
                                          ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971), ("abc", 479_470_107)]
        for (key, expected) in vectors {
            #expect(Int32(bitPattern: CardPartitioner.murmur2(Array(key.utf8))) == expected, "\(key)")
        }
        let consistent = CardPartitioner(.consistent)
        #expect(consistent.partition(of: "123456789".utf8, count: 4) == Int32(0xcbf4_3926 % 4))
        #expect((0..<100).allSatisfy { (0..<7).contains(CardPartitioner(.murmur2).partition(of: "card-\($0)".utf8, count: 7)) })
    }

    static func decision(reasons: ReasonList = ReasonList(), anomaly: Float = 1.25) -> Decision {
        Decision(eventID: "e-\"1\"", cardID: "c", merchantID: "m", amount: 10, currency: "EUR", eventTimeMillis: 0, risk: 0.625,
                 anomalyScore: anomaly, fraudProbability: 0.03125, modelVersion: 7, outcome: .review, reasons: reasons)
    }

    @Test("the answer body holds exactly the document's Decision fields, with stored precision")
    func answerBody() throws {
        let reasons = ReasonList([RiskReason(kind: .rule, name: "large_amount", weight: 220),
                                  RiskReason(kind: .reconstruction, name: "amount", weight: 12.5),
                                  RiskReason(kind: .classifier, name: "card.count_1h", weight: .nan),
                                  RiskReason(kind: .shadowRule, name: "night_owl", weight: 1)])
        let body = ScoredDecision(Self.decision(reasons: reasons, anomaly: .infinity), decidedAtMicros: 1_764_775_800_123_456).body
        let text = String(decoding: body, as: UTF8.self)
        #expect(text == #"{"event_id":"e-\"1\"","decision":"review","risk":0.625,"anomaly_score":null,"fraud_probability":0.03125,"model_version":7,"reasons":[{"kind":"rule","name":"large_amount","weight":220},{"kind":"reconstruction","name":"amount","weight":12.5},{"kind":"classifier","name":"card.count_1h","weight":null},{"kind":"shadow_rule","name":"night_owl","weight":1}],"decided_at":"2025-12-03T15:30:00.123456Z"}"#)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(ScoringDocument.json.utf8)) as? [String: Any])
        let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: Any])
        func properties(_ name: String) throws -> Set<String> {
            Set(try #require((schemas[name] as? [String: Any])?["properties"] as? [String: Any]).keys)
        }
        #expect(Set(object.keys) == (try properties("Decision")))
        let reason = try #require((object["reasons"] as? [[String: Any]])?.first)
        #expect(Set(reason.keys) == (try properties("Reason")))
        let refusal = ScoreAnswer.refused(status: 429, code: "overloaded", message: "busy", retryAfter: 1)
        let error = try #require(try JSONSerialization.jsonObject(with: Data(refusal.errorBody)) as? [String: Any])
        #expect(Set(error.keys) == (try properties("Error")))
        // Every rejection code of the stream's decoder is documented for 400.
        let codes = try #require(((schemas["Error"] as? [String: Any])?["properties"] as? [String: Any])?["error"] as? [String: Any])
        #expect(Set(EventRejection.Code.allCases.map(\.rawValue)).isSubset(of: Set(codes["examples"] as? [String] ?? [])))
    }

    @Test("a stored decision's compact reasons answer with every kind's name")
    func storedReasonKinds() {
        var out = ""
        for (i, text) in ["p:rule.large_amount=220", "r:amount=12.5", "c:card.count_1h=nan", "s:night_owl=1", "x:odd=2"].enumerated() {
            if i > 0 { out += "," }
            ScoredDecision.appendReason(text[...], to: &out)
        }
        #expect(out == #"{"kind":"rule","name":"rule.large_amount","weight":220},{"kind":"reconstruction","name":"amount","weight":12.5},"#
            + #"{"kind":"classifier","name":"card.count_1h","weight":null},{"kind":"shadow_rule","name":"night_owl","weight":1},"#
            + #"{"kind":"other","name":"odd","weight":2}"#)
    }

    @Test("timestamps before 1970 and on leap days format as RFC 3339")
    func timestamps() {
        #expect(ScoredDecision.timestamp(micros: 0) == "1970-01-01T00:00:00.000000Z")
        #expect(ScoredDecision.timestamp(micros: -1) == "1969-12-31T23:59:59.999999Z")
        #expect(ScoredDecision.timestamp(micros: 951_782_400_000_001) == "2000-02-29T00:00:00.000001Z")
    }

    @Test("the served document is api/openapi.json")
    func servedDocument() throws {
        #expect(ScoringDocument.json + "\n" == (try String(contentsOf: Self.repositoryDocument, encoding: .utf8)))
        let document = try #require(try JSONSerialization.jsonObject(with: Data(ScoringDocument.json.utf8)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: Any])
        #expect(Set(paths.keys) == ["/v1/score", "/v1/score/batch", "/v1/openapi.json"])
    }

    static func event(_ id: String) -> TransactionEvent {
        TransactionEvent(eventID: id, timestampMillis: 0, cardID: "c", merchantID: "m", amount: 1, currency: "EUR")
    }

    @Test("the queue refuses past max_in_flight, joins a repeated event id to the first request, and refuses all once closed")
    func queue() async {
        var c = ScoringConfiguration()
        c.maxInFlight = 2
        let queue = ScoringQueue(configuration: c, metrics: ScoringMetrics(registry: PrometheusCollectorRegistry()))
        guard case .admitted(let first) = queue.admit(Self.event("a"), arrivalMillis: 0) else { Issue.record("not admitted"); return }
        guard case .following(let joined) = queue.admit(Self.event("a"), arrivalMillis: 0) else { Issue.record("not joined"); return }
        #expect(joined === first)
        guard case .admitted = queue.admit(Self.event("b"), arrivalMillis: 0) else { Issue.record("b not admitted"); return }
        guard case .refused(let busy) = queue.admit(Self.event("c"), arrivalMillis: 0) else { Issue.record("c admitted"); return }
        #expect(busy.status == 429)
        let taken = queue.take(max: 10)
        #expect(taken.map(\.event.eventID) == ["a", "b"])
        taken[0].resolve(.decided(body: [1], repeated: false))
        #expect(await joined.wait(timeout: .seconds(1)) == .decided(body: [1], repeated: false))
        queue.finish([taken[0]])
        guard case .admitted = queue.admit(Self.event("c"), arrivalMillis: 0) else { Issue.record("c not admitted after a finished"); return }
        queue.close("stopping")
        #expect(queue.take(max: 10).isEmpty)
        guard case .refused(let stopping) = queue.admit(Self.event("d"), arrivalMillis: 0) else { Issue.record("d admitted"); return }
        #expect(stopping.status == 503)
        // A ticket nobody answers times out.
        #expect(await taken[1].wait(timeout: .milliseconds(20)) == nil)
    }

    @Test("api settings come from the config file's api object and VIGIL_API_ variables, and bad ones are refused")
    func settings() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-api-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(#"{"brokers":"b:9092","api":{"enabled":true,"port":9100,"max_in_flight":64,"commit":"relaxed","partitioner":"murmur2"}}"#.utf8)
            .write(to: file)
        let c = try ServeConfiguration.load(file: file.path, environment: ["VIGIL_API_ADDRESS": "0.0.0.0", "VIGIL_API_BATCH_SIZE": "32"])
        #expect(c.api.enabled && c.api.port == 9100 && c.api.maxInFlight == 64 && c.api.commit == .relaxed)
        #expect(c.api.partitioner == .murmur2 && c.api.address == "0.0.0.0" && c.api.batchSize == 32)
        try c.validate()
        var clash = c
        clash.api.port = clash.telemetry.port
        #expect(throws: ServiceError.self) { try clash.validate() }
        #expect(throws: ServiceError.self) { try ServeConfiguration.load(file: nil, environment: ["VIGIL_API_COMMIT": "eventually"]) }
        #expect(ServeConfiguration().api.address == "127.0.0.1")
    }
}
