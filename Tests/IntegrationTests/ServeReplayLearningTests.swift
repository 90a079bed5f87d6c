// One schedule, two clocks: `vigil serve` learning on its own thread from labels that arrive
// through Kafka and PostgreSQL makes the same publications, at the same label counts and with
// the same guard figures, as `vigil replay` of the same messages. The time trigger is set out
// of reach so that only the label trigger fires in both; one label per step, so the steps do
// not depend on how serve's polls happen to hand the labels over.
import Foundation
import Testing
import VigilEngine
import VigilKafka
import VigilPostgres
import VigilService
import VigilSimulator

@Suite struct ServeReplayLearningTests {
    /// 2,560 transactions on one partition (ten replay batches of 256), labels for every fraud
    /// and every third legitimate one stamped after the last of them, and one later
    /// transaction whose time lets a replay release those labels.
    struct Stream {
        var events: [KafkaProducerMessage] = []
        var labels: [KafkaProducerMessage] = []
        var trailing: KafkaProducerMessage?
    }

    static func stream(topic: String, labelsTopic: String) -> Stream {
        var configuration = SimulatorConfiguration()
        configuration.seed = 11
        configuration.customers = 500
        configuration.terminals = 1_000
        configuration.merchants = 300
        var s = Stream()
        var truth: [(id: String, fraud: Bool)] = []
        var last: SimulatedTransaction?
        for record in TransactionSimulator(configuration: configuration, maxTransactions: 2_560) {
            guard case .transaction(let t) = record else { continue }
            s.events.append(KafkaProducerMessage(topic: topic, key: Array(t.cardID.utf8), value: Array(t.json(truth: false).utf8)))
            truth.append((t.eventID, t.scenario.isFraud))
            last = t
        }
        let after = last!.timestampMillis + 60_000
        let trailing = #"{"event_id":"trailing","ts":\#(after + 86_400_000),"card_id":"\#(last!.cardID)","merchant_id":"\#(last!.merchantID)","amount":1,"currency":"EUR"}"#
        s.trailing = KafkaProducerMessage(topic: topic, key: Array(last!.cardID.utf8), value: Array(trailing.utf8))
        for (k, (id, fraud)) in truth.enumerated() where fraud || k % 3 == 0 {
            let line = #"{"event_id":"\#(id)","label":"\#(fraud ? "fraud" : "legit")","ts":\#(after + Int64(s.labels.count))}"#
            s.labels.append(KafkaProducerMessage(topic: labelsTopic, key: Array(id.utf8), value: Array(line.utf8)))
        }
        return s
    }

    /// The learner settings both runs use.
    static func settings(_ c: inout OnlineTrainerConfiguration) {
        c.labelsPerStep = 1
        c.minimumLabels = 50
        c.publishEveryLabels = 100
        c.publishInterval = .seconds(3_000_000_000)  // never, in wall clock or event time
        c.minimumPublishGap = .zero
        c.guardMinimumFrauds = 3
    }
    static let replaySettings = "labels_per_step=1,minimum_labels=50,publish_every_labels=100,publish_interval_ms=3000000000000,minimum_publish_gap_ms=0,guard_minimum_frauds=3"

    /// (labels learnt, guard metric of the candidate, window frauds) of a publication.
    struct Publication: Equatable, CustomStringConvertible {
        var version: Int64
        var labelsLearnt: Int
        var metric: String
        var windowFrauds: Int
        var description: String { "v\(version)@\(labelsLearnt): \(metric), \(windowFrauds) fraud" }
    }

    @Test func serveAndReplayMakeTheSamePublications() async throws {
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("learn-tx"), labelsTopic = KafkaTestSupport.uniqueName("learn-labels")
        try KafkaTestSupport.createTopic(topic, partitions: 1, brokers: brokers)
        try KafkaTestSupport.createTopic(labelsTopic, partitions: 1, brokers: brokers)
        let target = try ServeTestSupport.migratedSchema()
        defer { ServeTestSupport.drop(target) }
        let s = Self.stream(topic: topic, labelsTopic: labelsTopic)
        #expect(try await ServeTestSupport.seedModel(target, events: s.events) == 1)
        let schema = quoteIdentifier(target.schema)

        // Serve: every event decided before any label arrives, as the replay schedules them.
        var c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("g"), schema: target.schema)
        c.labelsTopic = labelsTopic
        try ServeTestSupport.createTrainingTopic(c, brokers: brokers)
        c.exitWhenIdle = nil
        c.modelPollInterval = .milliseconds(100)
        c.training = true
        c.trainer.wakeInterval = .milliseconds(50)
        Self.settings(&c.trainer)
        let stop = StopSignal()
        let serving = Task { try await FraudPipeline(configuration: c, log: .silent).run(stop: stop) }
        defer { stop.stop() }
        func waitFor(_ sql: String, atLeast count: Int64, tries: Int = 1_200) async throws -> Bool {
            for _ in 0..<tries {
                if try ServeTestSupport.scalar(sql) >= count { return true }
                try await Task.sleep(for: .milliseconds(50))
            }
            return false
        }
        try await ServeTestSupport.produce(s.events, brokers: brokers)
        try #require(try await waitFor("SELECT count(*) FROM \(schema).decisions", atLeast: Int64(s.events.count)))
        try await ServeTestSupport.produce(s.labels + [s.trailing!], brokers: brokers)

        // Replay of the same messages, from the same starting model and feature spec.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(KafkaTestSupport.uniqueName("learn"))
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let connection = PostgresConnection(configuration: try PostgresTestDatabase.configuration())
        // Version 1, the seeded model: by now serve's learner may already have promoted its first version.
        let seeded = try #require(try await ModelStore(connection: connection, schema: target.schema).load(version: 1))
        try Data(seeded.encoded()).write(to: dir.appendingPathComponent("model.vgm"))
        try JSONEncoder().encode(ServeTestSupport.spec).write(to: dir.appendingPathComponent("spec.json"))
        let r = try ChildProcess.vigil([
            "replay", "--kafka-topic", topic, "--labels-topic", labelsTopic, "--brokers", brokers,
            "--model", dir.appendingPathComponent("model.vgm").path, "--spec", dir.appendingPathComponent("spec.json").path,
            "--label-delay", "recorded", "--trainer", Self.replaySettings, "--out", dir.appendingPathComponent("out").path, "--quiet",
        ])
        try #require(r.status == 0, "\(r.stderr)")
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("out/metrics.json"))) as! [String: Any]
        #expect(metrics["labels_delivered"] as? Int == s.labels.count)
        let replayed = (metrics["promotions"] as! [[String: Any]]).filter { $0["outcome"] as? String == "promoted" }.map { p in
            let detail = p["detail"] as! String
            // "promote by <metric> <live> -> <candidate> (..., window N labels, F fraud)"
            let candidate = detail.components(separatedBy: " -> ")[1].components(separatedBy: " ")[0]
            let frauds = Int(detail.components(separatedBy: " labels, ")[1].components(separatedBy: " fraud")[0])!
            return Publication(version: Int64(p["version"] as! Int), labelsLearnt: p["labels_learnt"] as! Int,
                               metric: String(detail.components(separatedBy: " by ")[1].split(separator: " ")[0]) + " " + candidate,
                               windowFrauds: frauds)
        }
        try #require(replayed.count >= 3, "the replay published too little to compare: \(metrics["promotions"] ?? [])")

        // Serve has published as many once it has learnt every label.
        let enough = try await waitFor("SELECT count(*) FROM \(schema).models", atLeast: Int64(replayed.count + 1))
        try await Task.sleep(for: .milliseconds(500))  // nothing more may follow
        stop.stop()
        _ = try await serving.value
        #expect(enough)
        var served: [Publication] = []
        for row in try await connection.query("SELECT version, metrics::text FROM \(schema).models WHERE version > 1 ORDER BY version", []) {
            let m = try JSONDecoder().decode(ModelMetrics.self, from: Data(try row.decode(1, as: String.self).utf8))
            // The guard's metric: average precision once the window holds guard_minimum_frauds
            // (3) frauds, reconstruction error before (the row keeps both figures).
            let judgedByPrecision = m.windowFrauds >= 3 && m.averagePrecision != nil
            let (name, value) = judgedByPrecision ? ("average_precision", m.averagePrecision!) : ("reconstruction_error", m.reconstructionError ?? .nan)
            served.append(Publication(version: try row.decode(0), labelsLearnt: m.labelledExamples,
                                      metric: "\(name) \(String(format: "%.4f", value))", windowFrauds: m.windowFrauds))
        }
        await connection.close()
        #expect(served == replayed)
    }
}
