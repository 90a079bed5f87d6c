// Synchronous scoring against the real broker and PostgreSQL: `vigil serve --api` in process,
// requests through the same small HTTP client `vigil score` uses. What an answer promises is
// checked in the database: the row is there when a durable answer is read, a repeated event id
// returns the same bytes and writes nothing, refusals carry the dead letters' reason codes or
// Retry-After, the card's state is the stream's, and the chain verifies.
import Foundation
import Glibc
import Synchronization
import Testing
import VigilAudit
import VigilFeatures
import VigilKafka
import VigilPostgres
import VigilService

@Suite struct ServeScoringTests {
    /// A serve with the API on a free port, started and ready (model loaded, partitions assigned).
    struct RunningServe {
        let stop: StopSignal
        let task: Task<PipelineSummary, any Error>
        let url: String

        static func start(_ configuration: ServeConfiguration) async throws -> RunningServe {
            let pipeline = try FraudPipeline(configuration: configuration, log: .silent)
            let queue = pipeline.scoring, telemetry = pipeline.telemetry
            let stop = StopSignal()
            let task = Task { try await pipeline.run(stop: stop) }
            for _ in 0..<1_500 {
                if let port = queue?.listeningPort, telemetry.readiness().ok {
                    return RunningServe(stop: stop, task: task, url: "http://127.0.0.1:\(port)")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            stop.stop()
            _ = try? await task.value
            throw ScoringClient.Failure(description: "serve did not become ready with its API within 30 s")
        }

        func finish() async throws -> PipelineSummary {
            stop.stop()
            return try await task.value
        }
    }

    static let repositoryDocument = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("api/openapi.json")

    /// Runs blocking client calls on a thread of their own, off the cooperative pool that serve uses.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.start()
        }
    }

    static func post(_ url: String, _ body: String) async throws -> ScoringClient.Response {
        try await blocking { try ScoringClient(url: url).post("/v1/score", body: Array(body.utf8)) }
    }

    static func event(_ id: String, card: String, amount: Double = 42.5, ts: Int64 = 1_767_000_000_000) -> String {
        #"{"event_id":"\#(id)","ts":\#(ts),"card_id":"\#(card)","merchant_id":"m-1","amount":\#(amount),"currency":"EUR","channel":"pos"}"#
    }

    /// A migrated schema with a model, a topic with `stream` simulated events, and serve's settings.
    static func setUp(partitions: Int = 2, stream: Int = 200) async throws
        -> (target: MigrationTarget, topic: String, brokers: String, messages: [KafkaProducerMessage], configuration: ServeConfiguration)
    {
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("api")
        try KafkaTestSupport.createTopic(topic, partitions: partitions, brokers: brokers)
        let target = try ServeTestSupport.migratedSchema()
        let messages = ServeTestSupport.simulatedMessages(max(stream, 800), topic: topic)
        _ = try await ServeTestSupport.seedModel(target, events: messages)
        try await ServeTestSupport.produce(Array(messages.prefix(stream)), brokers: brokers)
        var c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("g"), schema: target.schema)
        c.exitWhenIdle = nil
        c.api.enabled = true
        c.api.port = 0
        // The tests check what serve answers, not how fast: on a loaded machine (the whole suite
        // in parallel) the default 2 s would turn admitted requests into 503 `timeout`.
        c.api.requestTimeout = .seconds(60)
        c.telemetry.port = 0
        return (target, topic, brokers, Array(messages.prefix(stream)), c)
    }

    static func waitForRows(_ schema: String, topic: String, count: Int64) async throws {
        for _ in 0..<1_500 {
            if try ServeTestSupport.scalar("SELECT count(*) FROM \(quoteIdentifier(schema)).decisions WHERE topic = $1", [.text(topic)]) >= count { return }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test("a durable answer's row is stored before the answer is read; a repeat is byte-identical and writes nothing; bad input gets the dead letters' codes")
    func durableIdempotentAndRejections() async throws {
        let setup = try await Self.setUp()
        defer { ServeTestSupport.drop(setup.target) }
        let serve = try await RunningServe.start(setup.configuration)
        let s = quoteIdentifier(setup.target.schema), apiTopic = ScoringSource.topic(of: setup.topic)

        var bodies: [String: [UInt8]] = [:]
        for i in 0..<20 {
            let id = "api-durable-\(i)"
            let response = try await Self.post(serve.url, Self.event(id, card: "card-\(i % 7)", amount: Double(i) * 17.5))
            #expect(response.status == 200, "\(String(decoding: response.body, as: UTF8.self))")
            // Durable: the row is committed before the answer leaves.
            let rows = try ServeTestSupport.scalar("SELECT count(*) FROM \(s).decisions WHERE event_id = $1 AND topic = $2", [.text(id), .text(apiTopic)])
            #expect(rows == 1, "event \(id): \(rows) rows when its answer was read")
            bodies[id] = response.body
        }
        // The body is the stored row.
        let session = try PostgresTestDatabase.session()
        defer { session.close() }
        let row = try session.query("SELECT decision, risk, model_version FROM \(s).decisions WHERE event_id = 'api-durable-3'", []).single()
        let answer = try JSONSerialization.jsonObject(with: Data(bodies["api-durable-3"]!)) as! [String: Any]
        #expect(answer["decision"] as? String == (try row.decode(0, as: String.self)))
        #expect(Float((answer["risk"] as! NSNumber).doubleValue) == (try row.decode(1, as: Float.self)))
        #expect((answer["model_version"] as! NSNumber).int64Value == (try row.decode(2, as: Int64.self)))
        #expect(Set(answer.keys) == ["event_id", "decision", "risk", "anomaly_score", "fraud_probability", "model_version", "reasons", "decided_at"])
        // Large amounts fire the tests' review rule: those are alerts too.
        let alerts = try ServeTestSupport.scalar("SELECT count(*) FROM \(s).alerts WHERE topic = $1", [.text(apiTopic)])
        let reviewed = try ServeTestSupport.scalar("SELECT count(*) FROM \(s).decisions WHERE topic = $1 AND decision <> 'allow'", [.text(apiTopic)])
        #expect(alerts == reviewed && alerts > 0)

        // Repeats, sequential and concurrent: the same bytes, no new row.
        let before = try ServeTestSupport.scalar("SELECT count(*) FROM \(s).decisions")
        for (id, body) in bodies.prefix(5) {
            let again = try await Self.post(serve.url, Self.event(id, card: "another-card", amount: 1))
            #expect(again.status == 200)
            #expect(again.body == body, "repeat of \(id) differs")
        }
        let url = serve.url
        let concurrent = try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for _ in 0..<8 { group.addTask { try await Self.post(url, Self.event("api-race", card: "card-race")).body } }
            return try await group.reduce(into: [[UInt8]]()) { $0.append($1) }
        }
        #expect(Set(concurrent).count == 1, "concurrent requests with one event id got different answers")
        #expect(try ServeTestSupport.scalar("SELECT count(*) FROM \(s).decisions WHERE event_id = 'api-race'") == 1)
        #expect(try ServeTestSupport.scalar("SELECT count(*) FROM \(s).decisions") == before + 1)

        // Each rejection class: 400 with the dead-letter reason code, nothing stored.
        let bad: [(String, String)] = [
            ("{not json", "malformed_json"),
            (#"{"event_id":"x1","ts":1767000000000,"merchant_id":"m","amount":1,"currency":"EUR"}"#, "missing_field"),
            (#"{"event_id":"x2","ts":1767000000000,"card_id":"c","merchant_id":"m","amount":"1","currency":"EUR"}"#, "wrong_type"),
            (#"{"event_id":"x3","ts":1767000000000,"card_id":"c","merchant_id":"m","amount":-1,"currency":"EUR"}"#, "negative_amount"),
            (#"{"event_id":"x4","ts":"yesterday","card_id":"c","merchant_id":"m","amount":1,"currency":"EUR"}"#, "invalid_timestamp"),
            (#"{"event_id":"x5","ts":1767000000000,"card_id":"c\u0000","merchant_id":"m","amount":1,"currency":"EUR"}"#, "nul_character"),
            (#"{"event_id":"x6","ts":1767000000000,"card_id":"c","merchant_id":"m","amount":1e999,"currency":"EUR"}"#, "non_finite_number"),
            (#"{"event_id":"x7","event_id":"x7","ts":1767000000000,"card_id":"c","merchant_id":"m","amount":1,"currency":"EUR"}"#, "duplicate_field"),
            (#"{"event_id":"x8","ts":1767000000000,"card_id":"\#(String(repeating: "k", count: 2_000))","merchant_id":"m","amount":1,"currency":"EUR"}"#, "key_too_large"),
            ("{\"event_id\":\"x9\",\"pad\":\"" + String(repeating: "p", count: 70_000) + "\"}", "payload_too_large"),
        ]
        for (body, code) in bad {
            let response = try await Self.post(serve.url, body)
            #expect(response.status == 400, "\(code): status \(response.status)")
            let error = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
            #expect(error?["error"] as? String == code, "expected \(code), got \(String(decoding: response.body, as: UTF8.self))")
        }
        #expect(try ServeTestSupport.scalar("SELECT count(*) FROM \(s).decisions WHERE event_id LIKE 'x%'") == 0)

        // The batch endpoint: one result per line, in order, each answered like a single request.
        let lines = [Self.event("api-batch-1", card: "card-b"), "{oops", Self.event("api-durable-0", card: "card-0"),
                     Self.event("api-batch-2", card: "card-b", amount: 400)]
        let batch = try await Self.blocking { [url] in
            try ScoringClient(url: url).post("/v1/score/batch", body: Array(lines.joined(separator: "\n").utf8), contentType: "application/x-ndjson")
        }
        #expect(batch.status == 200)
        let results = try #require((try JSONSerialization.jsonObject(with: Data(batch.body)) as? [String: Any])?["results"] as? [[String: Any]])
        #expect(results.map { $0["status"] as? Int } == [200, 400, 200, 200])
        #expect(results[1]["error"] as? String == "malformed_json")
        #expect((results[2]["decision"] as? [String: Any])?["decided_at"] as? String
                == (try JSONSerialization.jsonObject(with: Data(bodies["api-durable-0"]!)) as? [String: Any])?["decided_at"] as? String,
                "a repeated event id in a batch is not the stored decision")
        #expect(try ServeTestSupport.scalar("SELECT count(*) FROM \(s).decisions WHERE event_id LIKE 'api-batch-%'") == 2)
        let empty = try await Self.blocking { [url] in try ScoringClient(url: url).post("/v1/score/batch", body: []) }
        #expect(empty.status == 400)

        // The OpenAPI document is served and is the one in the repository.
        let document = try await Self.blocking { [url] in try ScoringClient(url: url).get("/v1/openapi.json") }
        #expect(document.status == 200)
        #expect(String(decoding: document.body, as: UTF8.self) + "\n" == (try String(contentsOf: Self.repositoryDocument, encoding: .utf8)))

        _ = try await serve.finish()
        let report = try await AuditTestSupport.verify(setup.target.schema)
        #expect(report.isIntact, "\(report.partitions.compactMap(\.firstBreak))")
        #expect(report.partitions.contains { $0.topic == apiTopic })
    }

    @Test("an analyst's rule in force decides API requests as it decides streamed events")
    func rulesInForceDecideRequests() async throws {
        let setup = try await Self.setUp()
        defer { ServeTestSupport.drop(setup.target) }
        let s = quoteIdentifier(setup.target.schema)
        // Saved before serve starts, so it is in force from the first batch.
        let session = try PostgresTestDatabase.session()
        defer { session.close() }
        try session.execute("SELECT \(s).save_rule($1, $2, $3)", [.text("block_test_merchant"), .text("merchant_id == 'm-blocked'"), .text("block")])
        let serve = try await RunningServe.start(setup.configuration)
        func answer(_ id: String, merchant: String) async throws -> [String: Any] {
            let body = #"{"event_id":"\#(id)","ts":1767000000000,"card_id":"card-r","merchant_id":"\#(merchant)","amount":12,"currency":"EUR"}"#
            let response = try await Self.post(serve.url, body)
            #expect(response.status == 200, "\(String(decoding: response.body, as: UTF8.self))")
            return try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] ?? [:]
        }
        let blocked = try await answer("api-rule-1", merchant: "m-blocked")
        let other = try await answer("api-rule-2", merchant: "m-other")
        _ = try await serve.finish()
        #expect(blocked["decision"] as? String == "block")
        #expect("\(blocked["reasons"] ?? "")".contains("block_test_merchant"), "\(blocked)")
        #expect(!"\(other["reasons"] ?? "")".contains("block_test_merchant"), "\(other)")
        #expect(try ServeTestSupport.scalar("SELECT count(*) FROM \(s).decisions WHERE event_id = 'api-rule-1' AND decision = 'block'") == 1)
    }

    @Test("a flood past max_in_flight gets 429 with Retry-After, and every answered decision has its row")
    func overload() async throws {
        var setup = try await Self.setUp(partitions: 1, stream: 50)
        defer { ServeTestSupport.drop(setup.target) }
        setup.configuration.api.maxInFlight = 2
        setup.configuration.api.batchSize = 1
        let serve = try await RunningServe.start(setup.configuration)
        let url = serve.url
        let responses = try await withThrowingTaskGroup(of: [(String, ScoringClient.Response)].self) { group in
            for worker in 0..<12 {
                group.addTask {
                    try await Self.blocking {
                        let client = try ScoringClient(url: url)
                        return try (0..<15).map { i in
                            let id = "flood-\(worker)-\(i)"
                            return (id, try client.post("/v1/score", body: Array(Self.event(id, card: "card-\(worker)").utf8)))
                        }
                    }
                }
            }
            return try await group.reduce(into: [(String, ScoringClient.Response)]()) { $0 += $1 }
        }
        _ = try await serve.finish()
        let refused = responses.filter { $0.1.status == 429 }
        let decided = responses.filter { $0.1.status == 200 }
        #expect(!refused.isEmpty, "no 429 under a flood of 12 connections against max_in_flight 2")
        #expect(refused.allSatisfy { $0.1.headers["retry-after"] == "1" })
        #expect(decided.count + refused.count == responses.count, "statuses: \(Set(responses.map(\.1.status)))")
        let s = quoteIdentifier(setup.target.schema)
        let stored = try Set(PostgresTestDatabase.session().query("SELECT event_id FROM \(s).decisions WHERE event_id LIKE 'flood-%'", [])
            .map { try $0.decode(0, as: String.self) })
        #expect(Set(decided.map(\.0)).isSubset(of: stored), "an answered decision has no row")
        #expect(stored.count == decided.count, "rows for requests that were refused")
        #expect(try await AuditTestSupport.verify(setup.target.schema).isIntact)
    }

    @Test("an API event is scored with its card's stream state and changes the state the next stream event sees")
    func sharedState() async throws {
        var setup = try await Self.setUp(partitions: 2, stream: 300)
        defer { ServeTestSupport.drop(setup.target) }
        setup.configuration.audit.features = .all
        let serve = try await RunningServe.start(setup.configuration)
        try await Self.waitForRows(setup.target.schema, topic: setup.topic, count: 300)
        let decoder = EventDecoder()
        let stream = try setup.messages.map { try decoder.decode($0.value) }
        // The card with the most stream events, and a time after all of them.
        let card = Dictionary(grouping: stream, by: \.cardID).max { $0.value.count < $1.value.count }!.key
        let later = stream.map(\.timestampMillis).max()! + 60_000
        let api = try await Self.post(serve.url, Self.event("shared-api", card: card, amount: 310, ts: later))
        #expect(api.status == 200)
        let next = TransactionEvent(eventID: "shared-stream", timestampMillis: later + 60_000, cardID: card, merchantID: "m-2",
                                    amount: 12, currency: "EUR", channel: "pos")
        let nextJSON = #"{"event_id":"shared-stream","ts":\#(later + 60_000),"card_id":"\#(card)","merchant_id":"m-2","amount":12,"currency":"EUR","channel":"pos"}"#
        try await ServeTestSupport.produce([KafkaProducerMessage(topic: setup.topic, key: Array(card.utf8), value: Array(nextJSON.utf8))],
                                           brokers: setup.brokers)
        try await Self.waitForRows(setup.target.schema, topic: setup.topic, count: 301)
        _ = try await serve.finish()

        // The API row sits in the card's partition (the producer's partitioner agrees).
        let s = quoteIdentifier(setup.target.schema)
        let session = try PostgresTestDatabase.session()
        defer { session.close() }
        func partition(_ id: String) throws -> Int32 {
            try session.query("SELECT kafka_partition FROM \(s).decisions WHERE event_id = $1", [.text(id)]).single().decode(0)
        }
        let p = try partition("shared-stream")
        #expect(try partition("shared-api") == p)
        // Offline: the partition's stream events in offset order, then the API event, then the
        // next stream event, through one extractor with serve's settings.
        let ordered = try session.query("SELECT event_id FROM \(s).decisions WHERE topic = $1 AND kafka_partition = $2 AND event_id <> 'shared-stream' ORDER BY kafka_offset",
                                        [.text(setup.topic), .int32(p)]).map { try $0.decode(0, as: String.self) }
        let byID = Dictionary(uniqueKeysWithValues: stream.map { ($0.eventID, $0) })
        let budget = StateBudget(budget: ServeTestSupport.state)
        budget.topicPartitions(2)
        var extractor = try FeatureExtractor(spec: ServeTestSupport.spec, configuration: budget.share)
        var vector = extractor.makeVector()
        for id in ordered { extractor.extract(byID[id]!, into: &vector) }
        let apiEvent = try decoder.decode(Array(Self.event("shared-api", card: card, amount: 310, ts: later).utf8))
        extractor.extract(apiEvent, into: &vector)
        let apiExpected = vector.dense
        extractor.extract(next, into: &vector)
        let nextExpected = vector.dense
        func stored(_ id: String) throws -> [Float] {
            try session.query("SELECT features FROM \(s).decisions WHERE event_id = $1", [.text(id)]).single()
                .decode(0, as: PostgresFloatArray.self).elements.map { $0 ?? .nan }
        }
        #expect(try stored("shared-api") == apiExpected, "the API event was not scored with its card's stream state")
        #expect(try stored("shared-stream") == nextExpected, "the next stream event did not see the API event in its card's state")
        // Without the API event the stream event's features differ: the test can fail.
        var without = try FeatureExtractor(spec: ServeTestSupport.spec, configuration: budget.share)
        var other = without.makeVector()
        for id in ordered { without.extract(byID[id]!, into: &other) }
        without.extract(next, into: &other)
        #expect(other.dense != nextExpected)
        #expect(try await AuditTestSupport.verify(setup.target.schema).isIntact)
    }
}

/// `vigil serve --api` as a child process: kill -9 under load loses no answered decision, and
/// `vigil score` posts a file of events and prints one line per answer.
@Suite struct ServeScoringCrashTests {
    /// What the load's workers share: the event ids answered 200, and when to stop.
    final class LoadTally: Sendable {
        let answered = Mutex<[String]>([])
        let stopped = Atomic<Bool>(false)
    }

    @Test("kill -9 during load: every decision answered 200 has its row; vigil score prints the answers")
    func killNineLosesNoAnsweredDecision() async throws {
        let binary = try ServeCrashTests.vigilExecutable()
        let setup = try await ServeScoringTests.setUp(partitions: 2, stream: 50)
        defer { ServeTestSupport.drop(setup.target) }
        let port = try LoopbackPort.free()
        let child = try ServeTestSupport.childSettings(schema: setup.target.schema, topic: setup.topic, group: KafkaTestSupport.uniqueName("g"),
                                                        extra: ["api": ["enabled": true, "port": port, "request_timeout_ms": 60_000]], brokers: setup.brokers)
        defer { try? FileManager.default.removeItem(at: child.folder) }
        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve", "--config", child.config.path, "--log-level", "warning"]
        process.environment = child.environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let url = "http://127.0.0.1:\(port)"
        // Ready: a probe is decided.
        var ready = false
        for i in 0..<600 where !ready && process.isRunning {
            let probe = try? await ServeScoringTests.blocking {
                try ScoringClient(url: url).post("/v1/score", body: Array(ServeScoringTests.event("probe-\(i)", card: "probe").utf8))
            }
            ready = probe?.status == 200
            if !ready { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(ready, "vigil serve --api did not answer")

        // `vigil score` on a file of three events (one of them bad).
        let events = child.folder.appendingPathComponent("events.jsonl")
        try (ServeScoringTests.event("cli-1", card: "cli") + "\n{broken\n" + ServeScoringTests.event("cli-2", card: "cli") + "\n")
            .write(to: events, atomically: true, encoding: .utf8)
        let cli = try ChildProcess.run(binary, ["score", "--url", url, events.path])
        let lines = cli.stdout.split(separator: "\n")
        #expect(cli.status == 1, "exit status with one refused event: \(cli.status)")
        #expect(lines.count == 3 && lines[0].contains(#""event_id":"cli-1""#) && lines[1].contains(#""status":400,"error":"malformed_json""#),
                "\(cli.stdout) \(cli.stderr)")

        // Load from four connections; kill -9 after a second of it.
        let tally = LoadTally()
        let load = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        try await ServeScoringTests.blocking {
                            let client = try ScoringClient(url: url)
                            var i = 0
                            while !tally.stopped.load(ordering: .relaxed) {
                                let id = "crash-\(worker)-\(i)"
                                i += 1
                                guard let r = try? client.post("/v1/score", body: Array(ServeScoringTests.event(id, card: "card-\(i % 13)").utf8)) else {
                                    return
                                }
                                if r.status == 200 { tally.answered.withLock { $0.append(id) } }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        // Kill -9 once the load is being answered (how soon depends on the machine's load).
        for _ in 0..<1_200 where tally.answered.withLock({ $0.count }) <= 20 {
            try await Task.sleep(for: .milliseconds(50))
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        tally.stopped.store(true, ordering: .relaxed)
        try await load.value
        let ids = tally.answered.withLock { $0 }
        #expect(ids.count > 20, "only \(ids.count) answers before the kill")
        let s = quoteIdentifier(setup.target.schema)
        let stored = try Set(PostgresTestDatabase.session().query("SELECT event_id FROM \(s).decisions WHERE event_id LIKE 'crash-%'", [])
            .map { try $0.decode(0, as: String.self) })
        #expect(Set(ids).subtracting(stored).isEmpty, "answered without a row: \(Set(ids).subtracting(stored).sorted().prefix(10))")
        #expect(try await AuditTestSupport.verify(setup.target.schema).isIntact)
    }
}
