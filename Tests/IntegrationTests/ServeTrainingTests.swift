// Learning while serving: labels arriving on the labels topic make the in-process trainer
// promote a database-allocated version with its parent, later decisions carry it; with
// training off nothing is promoted.
import Foundation
import Testing
import VigilKafka
import VigilPostgres
import VigilService
import VigilSimulator

@Suite struct ServeTrainingTests {
    struct Traffic {
        var first: [KafkaProducerMessage] = []
        var later: [KafkaProducerMessage] = []
        var labels: [KafkaProducerMessage] = []
    }

    /// 3,000 simulated transactions (the first 2,000, then the rest) and their labels.
    static func traffic(topic: String, labelsTopic: String) -> Traffic {
        var configuration = SimulatorConfiguration()
        configuration.seed = 11
        configuration.customers = 500
        configuration.terminals = 1_000
        configuration.merchants = 300
        var traffic = Traffic()
        var transactions: [KafkaProducerMessage] = []
        for record in TransactionSimulator(configuration: configuration, maxTransactions: 3_000) {
            switch record {
            case .transaction(let t):
                transactions.append(KafkaProducerMessage(topic: topic, key: Array(t.cardID.utf8), value: Array(t.json(truth: false).utf8)))
            case .label(let l):
                traffic.labels.append(KafkaProducerMessage(topic: labelsTopic, key: Array(l.eventID.utf8), value: Array(l.json().utf8)))
            }
        }
        traffic.first = Array(transactions[0..<2_000])
        traffic.later = Array(transactions[2_000...])
        return traffic
    }

    func run(training: Bool) async throws -> (versions: [ModelVersionInfo], laterVersions: Set<Int64>, labels: Int) {
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("serve-train-tx")
        let labelsTopic = KafkaTestSupport.uniqueName("serve-train-labels")
        try KafkaTestSupport.createTopic(topic, partitions: 2, brokers: brokers)
        try KafkaTestSupport.createTopic(labelsTopic, partitions: 1, brokers: brokers)
        let target = try ServeTestSupport.migratedSchema()
        defer { ServeTestSupport.drop(target) }
        let traffic = Self.traffic(topic: topic, labelsTopic: labelsTopic)
        #expect(try await ServeTestSupport.seedModel(target, events: traffic.first) == 1)

        var c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("g"), schema: target.schema)
        c.labelsTopic = labelsTopic
        try ServeTestSupport.createTrainingTopic(c, brokers: brokers)
        c.exitWhenIdle = nil
        c.modelPollInterval = .milliseconds(100)
        c.training = training
        c.trainer.wakeInterval = .milliseconds(100)
        c.trainer.publishInterval = .milliseconds(500)
        c.trainer.minimumPublishGap = .milliseconds(200)
        c.trainer.minimumLabels = 50
        c.trainer.publishEveryLabels = 100
        c.trainer.guardMinimumFrauds = 1
        c.trainer.trafficSampleEvery = 4
        // Any challenger not much worse passes: this checks the wiring, not the guard's figures.
        c.trainer.guardMarginStandardErrors = 100
        c.trainer.reconstructionTolerance = 10
        let stop = StopSignal()
        let serving = Task { try await FraudPipeline(configuration: c, log: .silent).run(stop: stop) }
        let s = quoteIdentifier(target.schema)
        func waitFor(_ sql: String, atLeast count: Int64, tries: Int = 400) async throws -> Bool {
            for _ in 0..<tries {
                if try ServeTestSupport.scalar(sql) >= count { return true }
                try await Task.sleep(for: .milliseconds(50))
            }
            return false
        }

        try await ServeTestSupport.produce(traffic.first, brokers: brokers)
        #expect(try await waitFor("SELECT count(*) FROM \(s).decisions", atLeast: 2_000))
        try await ServeTestSupport.produce(traffic.labels, brokers: brokers)
        #expect(try await waitFor("SELECT count(*) FROM \(s).labels", atLeast: Int64(traffic.labels.count)))
        if training {
            #expect(try await waitFor("SELECT count(*) FROM \(s).models", atLeast: 2, tries: 600))
        } else {
            try await Task.sleep(for: .seconds(2))  // four publication intervals
        }
        try await Task.sleep(for: .milliseconds(300))  // a few model polls
        try await ServeTestSupport.produce(traffic.later, brokers: brokers)
        #expect(try await waitFor("SELECT count(*) FROM \(s).decisions", atLeast: 3_000))
        stop.stop()
        _ = try await serving.value

        let connection = PostgresConnection(configuration: try PostgresTestDatabase.configuration())
        let versions = try await ModelCatalog(connection: connection, schema: target.schema).list()
        var later = Set<Int64>()
        let ids = try traffic.later.map { message -> String in
            let object = try JSONSerialization.jsonObject(with: Data(message.value)) as! [String: Any]
            return object["event_id"] as! String
        }
        let laterIDs = Set(ids)
        for row in try await connection.query("SELECT event_id, model_version FROM \(s).decisions", []) where laterIDs.contains(try row.decode(0)) {
            later.insert(try row.decode(1))
        }
        await connection.close()
        return (versions, later, traffic.labels.count)
    }

    @Test func labelsLeadToAPromotedVersionThatLaterDecisionsUse() async throws {
        let result = try await run(training: true)
        #expect(result.labels >= 50)
        #expect(result.versions.count >= 2)
        let promoted = result.versions.filter { $0.version > 1 }
        #expect(promoted.first?.parent == 1)
        #expect(promoted.allSatisfy { $0.parent != nil && $0.promotedAt != nil && $0.note == "online training" })
        let live = try #require(result.versions.first { $0.isLive })
        #expect(live.version > 1)
        // Rounds keep running on the later traffic, so it may see more than one new version,
        // but never the seeded one again, and only versions stored in the catalog.
        #expect(!result.laterVersions.isEmpty && !result.laterVersions.contains(1))
        #expect(result.laterVersions.isSubset(of: Set(promoted.map(\.version))))
        #expect(promoted.allSatisfy { $0.parent! < $0.version })
    }

    @Test func noPromotionWithTrainingOff() async throws {
        let result = try await run(training: false)
        #expect(result.versions.map(\.version) == [1])
        #expect(result.laterVersions == [1])
    }
}
