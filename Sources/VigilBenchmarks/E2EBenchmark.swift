// `tools/bench e2e`: the whole pipeline (poll, decode, features, both models, decision,
// one PostgreSQL transaction per batch with every decision COPYed, alerts, the hash-chain
// links and the offset compare-and-set) over simulated transactions, next to what bounds it
// measured in the same run: the plain librdkafka consume loop, PostgreSQL's own rate for the
// stored rows (the ceiling, with today's row and with migration 0001's), the broker's delivery
// floor, and the Python yardstick (../shared/yardsticks) when its packages are importable.
import ArgumentParser
import Foundation
import KafkaBaseline
import VigilAudit
import VigilEngine
import VigilFeatures
import VigilKafka
import VigilPostgres
import VigilService
import VigilSimulator

struct E2EBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "e2e",
        abstract: "Sustained events/s of vigil serve's pipeline with every decision audited, exactly once."
    )

    @Option(help: "Simulated transactions to produce and decide.") var events = 200_000
    @Option(help: "Partitions of the benchmark topic.") var partitions = 4
    @Option(help: "Messages per batch (one database transaction).") var batch = 5_000
    @Option(help: "Pipeline instances in one consumer group (in this process, each with its own consumer and connection), as adding instances would.")
    var instances = 1
    @Option(help: "Events per second of the steady-rate latency run.") var latencyRate = 10_000
    @Option(help: "Seconds of the steady-rate latency run.") var latencySeconds = 5
    @Option(help: "librdkafka fetch.wait.max.ms for the latency run (default: the service's 10).") var fetchWaitMs: Int?
    @Option(help: "Producer linger.ms of the latency run. Default 5 (librdkafka's): at 1 ms the produce requests alone overload Tansu at 10,000/s.")
    var lingerMs = 5
    @Option(help: "Transactions of earlier simulated history the first model is trained on (at least 2,000).")
    var warmUpEvents = 60_000
    @Flag(help: "Serve without online training (no rounds competing for the two cores).") var noTraining = false
    @Option(help: "Risk at or above which an event is reviewed (alerted). Default: the engine's.") var reviewThreshold: Float?
    @Option(help: "Risk at or above which an event is blocked. Default: the engine's.") var blockThreshold: Float?
    @Option(help: "Sign every chain link: ed25519, hmac-sha256 or none.") var signing = "ed25519"
    @Option(help: "The Python yardstick, run for its full and no-model rates when python3 can import confluent_kafka, river and psycopg.")
    var yardstick = "../shared/yardsticks/peer_pipeline.py"
    @Flag(help: "Do not run the Python yardstick.") var noYardstick = false
    @Option(help: "With several instances and training: transactions of the labelled stream served by the instances and by one instance, to compare their learning.")
    var learningEvents = 100_000
    @Option(help: "Records per second (transactions and labels) the labelled stream is produced at.") var learningRate = 10_000
    @Option(help: "Hours after its transaction a label arrives in the labelled stream (simulated event time, ±50%).") var learningLabelDelayHours = 1.0
    @Flag(help: "Skip the learning comparison of several instances with one.") var noLearning = false
    @Flag(help: "With the learning comparison: also serve the stream with its labels held back and produced at once, to measure the learning path's ceiling.")
    var learningBurst = false

    func validate() throws {
        guard events >= 2_000, warmUpEvents >= 2_000, partitions > 0, batch > 0, (1...partitions).contains(instances) else {
            throw ValidationError("events and warm-up events >= 2000, partitions and batch > 0, instances in 1...partitions")
        }
        guard signing == "none" || SigningAlgorithm(rawValue: signing) != nil else { throw ValidationError("--signing must be ed25519, hmac-sha256 or none") }
    }

    func run() async throws {
        let loadAtStart = BenchReport.loadAverage()
        print("load average at start: \(loadAtStart)")
        let brokers = try BenchReport.environment("VIGIL_KAFKA_BROKERS")
        let databaseURL = try BenchReport.environment("VIGIL_DATABASE_URL")
        let id = UUID().uuidString.prefix(8).lowercased()
        let topic = "bench-e2e-\(id)"
        try KafkaBaseline.createTopic(brokers: brokers, topic: topic, partitions: partitions)

        var simulator = SimulatorConfiguration()
        simulator.seed = 11
        var payloads: [(key: [UInt8], value: [UInt8])] = []
        payloads.reserveCapacity(events)
        for record in TransactionSimulator(configuration: simulator, maxTransactions: events) {
            if case .transaction(let t) = record { payloads.append((Array(t.cardID.utf8), Array(t.json(truth: false).utf8))) }
        }
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: [brokers]))
        for (key, value) in payloads {
            let message = KafkaProducerMessage(topic: topic, key: key, value: value)
            try await producer.sendWhenQueued(message)
        }
        try await producer.close(timeout: .seconds(120))
        print("topic \(topic): \(payloads.count) simulated transactions on \(partitions) partitions")

        let baseline = try KafkaBaseline.consume(brokers: brokers, topic: topic, partitions: partitions, expected: payloads.count)
        print("baseline: plain librdkafka consume \(BenchReport.rate(baseline.messagesPerSecond))")

        // A private schema with a first model trained on earlier history (below).
        let target = try MigrationTarget(schema: "bench_e2e_\(id)", serviceRole: "bench_e2e_\(id)_svc", analystRole: "bench_e2e_\(id)_an")
        let connection = PostgresConnection(configuration: try PostgresConfiguration(url: databaseURL), label: "bench.e2e")
        let directory = try MigrationDirectory.locate(explicit: nil, environment: ProcessInfo.processInfo.environment,
                                                      executablePath: CommandLine.arguments[0],
                                                      currentDirectory: FileManager.default.currentDirectoryPath)
        let migrations = try Migration.load(directory: directory)
        _ = try await connection.withSession { try MigrationRunner(session: $0, target: target).migrate(migrations) }
        // The first model is trained on an earlier stretch of the same simulated world (its own
        // seed), with card histories filling as they would have before the deployment: a
        // model trained on 2,000 cold-start events flags up to 67% of later traffic as its
        // 7-day windows fill, which no fraud team runs and which doubles the rows written.
        var history = SimulatorConfiguration()
        history.seed = 12
        var warmUp: [TransactionEvent] = []
        warmUp.reserveCapacity(warmUpEvents)
        let decoder = EventDecoder()
        for record in TransactionSimulator(configuration: history, maxTransactions: warmUpEvents) {
            guard case .transaction(let t) = record else { continue }
            let line = Array(t.json(truth: false).utf8)
            if let event = try? decoder.decode(line) { warmUp.append(event) }
        }
        let models = try ColdStart.train(events: warmUp, spec: .standard, state: FeatureStateConfiguration())
        _ = try await ModelStore(connection: connection, schema: target.schema).promoteFirst(models)

        var c = ServeConfiguration()
        c.brokers = [brokers]
        c.databaseURL = databaseURL
        c.schema = target.schema
        c.topic = topic
        c.groupID = "bench-e2e-\(id)"
        c.batchSize = batch
        c.exitWhenIdle = .seconds(3)
        c.maxEvents = instances == 1 ? payloads.count : nil  // several instances stop when idle
        c.sessionTimeout = .seconds(6)
        c.training = !noTraining
        // The group's learner reads a training topic of the run's own (docs/serve.md).
        c.learner.trainingTopic = topic + "-training"
        if c.training { try KafkaBaseline.createTopic(brokers: brokers, topic: c.learner.trainingTopic, partitions: 1) }
        var keyFile: String?
        if let algorithm = SigningAlgorithm(rawValue: signing) {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-\(id).key").path
            guard FileManager.default.createFile(atPath: path, contents: Data(LinkSigner.generate(algorithm).secret.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw ValidationError("cannot write a signing key to \(path)")
            }
            keyFile = path
            c.audit.signingKeyFile = path
        }
        defer { if let keyFile { try? FileManager.default.removeItem(atPath: keyFile) } }
        if let blockThreshold { c.decisionPolicy.blockThreshold = blockThreshold }
        if let reviewThreshold { c.decisionPolicy.reviewThreshold = reviewThreshold }
        let summary = try await runInstances(configuration: c)
        let s = quoteIdentifier(target.schema)
        let stored = try await connection.query("SELECT count(*) FROM \(s).decisions", []).single().decode(0, as: Int64.self)
        let rowBytes = try await RowBytes.measure(connection: connection, table: "\(s).decisions")
        let chainBytes = try await connection.query("SELECT pg_total_relation_size($1::regclass)::float8, count(*) FROM \(s).audit_chain",
                                                    [.text("\(s).audit_chain")]).single()
        let links = try chainBytes.decode(1, as: Int64.self)
        let linkBytesPerDecision = try chainBytes.decode(0, as: Double.self) / Double(max(stored, 1))
        let keyPath = keyFile
        let verification = try await connection.withSession { session in
            try AuditVerifier(session: session, schema: target.schema)
                .verify(VerifyRequest(keys: try keyPath.map { [try LinkVerificationKey(keyFile: $0)] } ?? []))
        }
        let copyRate = try await copyBaseline(connection: connection, schema: target.schema)
        let ceilingFigures = try await AuditCeiling.measure(connection: connection, schema: target.schema, batch: batch)
        let ceiling = ceilingFigures.rate
        let featureWidth = try FeatureExtractor(spec: .standard).denseCount
        let before = try await AuditCeiling.measureBefore(connection: connection, schema: target.schema, batch: batch, featureWidth: featureWidth)
        let floor = try await DeliveryFloor.measure(brokers: brokers, topic: topic + "-floor", partitions: partitions, rate: latencyRate,
                                                    seconds: latencySeconds, linger: .milliseconds(lingerMs),
                                                    consumerProperties: ["fetch.wait.max.ms": String(fetchWaitMs ?? 10)], payloads: payloads)
        let latency = try await steadyLatency(configuration: c, brokers: brokers, payloads: payloads)
        var learning: (group: GroupLearningRun.Figures, single: GroupLearningRun.Figures)?
        var learningCeiling: GroupLearningRun.Figures?
        if instances > 1, !noTraining, !noLearning {
            let run = GroupLearningRun(brokers: brokers, databaseURL: databaseURL, migrations: migrations, firstModel: models,
                                       partitions: partitions, rate: learningRate, base: c)
            let stream = GroupLearningRun.Stream(served: learningEvents, heldOut: learningEvents / 2, labelDelayHours: learningLabelDelayHours)
            print("learning: \(stream.served) transactions and \(stream.labels) labels at \(learningRate)/s, served by \(instances) instances, then by one")
            learning = (try await run.run(stream, instances: instances), try await run.run(stream, instances: 1))
            if learningBurst {
                let b = try await run.run(stream, instances: instances, burst: true)
                learningCeiling = b
            }
        }
        _ = try? await connection.withSession { session in
            try session.execute("DROP SCHEMA \(quoteIdentifier(target.schema)) CASCADE", [])
            try session.execute("DROP ROLE IF EXISTS \(quoteIdentifier(target.serviceRole))", [])
            try session.execute("DROP ROLE IF EXISTS \(quoteIdentifier(target.analystRole))", [])
        }
        await connection.close()
        guard stored == Int64(payloads.count), summary.decided == payloads.count else {
            throw ValidationError("decided \(summary.decided), stored \(stored) of \(payloads.count)")
        }
        guard verification.isIntact, verification.rowsCovered >= stored else {
            throw ValidationError("the chain does not verify: \(verification.partitions.compactMap(\.firstBreak))")
        }
        let peer = noYardstick ? nil : try Yardstick.run(script: yardstick, events: payloads.count, brokers: brokers, databaseURL: databaseURL)
        let loadAtEnd = BenchReport.loadAverage()
        let rate = Double(summary.decided) / summary.activeSeconds
        let ratio = rate / baseline.messagesPerSecond
        print("""
            pipeline: \(summary.decided) decisions (\(summary.alerts) alerts) in \(summary.batches) transactions, \
            \(String(format: "%.2f", summary.activeSeconds)) s: \(BenchReport.rate(rate)) (target >= 100k/s); \
            ratio to the plain consume loop \(String(format: "%.3f", ratio)); \
            deciding \(String(format: "%.2f", summary.decideSeconds)) s, writing \(String(format: "%.2f", summary.writeSeconds)) s
            baseline: binary COPY of the same decision rows into a table without indexes or trigger: \(BenchReport.rate(copyRate)) rows
            ceiling: the same decisions and alerts COPYed again into the schema's own tables (indexes, partitions), \
            one transaction per \(batch) events, no pipeline: \(BenchReport.rate(ceiling)) events; pipeline at \(String(format: "%.2f", rate / ceiling)) of it (target >= 0.9)
            ceiling before the row change: the same decisions as migration 0001's row (every feature vector, jsonb reasons, its 3 indexes): \
            \(BenchReport.rate(before.rate.rate)) events; after/before \(String(format: "%.2f", ceiling / before.rate.rate))
            server CPU per event at the ceiling (the PostgreSQL backend's own time, steadier than rates on a busy machine): \
            \(ceilingFigures.cpuMicroseconds.map { String(format: "%.1f", $0) } ?? "?") µs with today's row, \
            \(before.rate.cpuMicroseconds.map { String(format: "%.1f", $0) } ?? "?") µs with 0001's
            row bytes per decision: \(Int(rowBytes.total.rounded())) (heap \(Int(rowBytes.heap.rounded())) + index \(Int(rowBytes.index.rounded())), \
            tuple \(Int(rowBytes.tuple.rounded()))) + chain links \(String(format: "%.1f", linkBytesPerDecision)); before: \(Int(before.bytes.total.rounded())) \
            (heap \(Int(before.bytes.heap.rounded())) + index \(Int(before.bytes.index.rounded())), tuple \(Int(before.bytes.tuple.rounded())))
            chain: \(links) links (\(signing == "none" ? "unsigned" : "signed, \(signing)")); vigil audit verify: intact, \
            \(verification.rowsCovered) rows in \(String(format: "%.2f", verification.seconds)) s (\(BenchReport.rate(Double(verification.rowsCovered) / verification.seconds)) rows)
            latency at a steady \(latencyRate)/s: p50 \(String(format: "%.2f", latency.p50)) ms, p99 \(String(format: "%.2f", latency.p99)) ms \
            (target p99 <= floor p99 + 10 = \(String(format: "%.2f", floor.p99 + 10)) ms)
            floor: the broker's delivery alone (bare consumer, same rate, linger.ms \(lingerMs), fetch.wait.max.ms \(fetchWaitMs ?? 10)): \
            p50 \(String(format: "%.2f", floor.p50)) ms, p99 \(String(format: "%.2f", floor.p99)) ms
            """)
        if let peer {
            print("yardstick (\(yardstick), same run): full \(BenchReport.rate(peer.full)) events, no models \(BenchReport.rate(peer.noModels)); "
                  + "pipeline at \(String(format: "%.2f", rate / peer.noModels))x the no-model rate (target >= 2.5x)")
        } else {
            print("yardstick: not run (\(noYardstick ? "--no-yardstick" : "python3 cannot import confluent_kafka, river and psycopg, or \(yardstick) is missing"))")
        }
        if let learning { GroupLearningRun.report(learning.group, learning.single) }
        if let b = learningCeiling {
            print("learning ceiling (\(b.instances) instances, \(b.examplesSent) labels produced at once after every transaction was decided): "
                  + "\(b.examplesReceived) examples taken by the learner in \(String(format: "%.2f", b.seconds)) s from the first one sent, "
                  + "\(Int(b.examplesPerSecond.rounded()))/s; learner lag max \(Int(b.lagSamples.max() ?? 0)) examples; live version \(b.liveVersion)")
        }
        print("load average at start: \(loadAtStart); at end: \(loadAtEnd)")
        var json: [String: Any] = [
            "bench": "e2e",
            "events": payloads.count,
            "batch": batch,
            "partitions": partitions,
            "instances": instances,
            "training": !noTraining,
            "events_per_s": rate.rounded(),
            "target_events_per_s": 100_000,
            "baseline_consume_per_s": baseline.messagesPerSecond.rounded(),
            "ratio": (ratio * 1000).rounded() / 1000,
            "alerts": summary.alerts,
            "alert_rate": (Double(summary.alerts) / Double(max(summary.decided, 1)) * 10_000).rounded() / 10_000,
            "final_model_version": summary.modelVersion,
            "review_threshold": Double(c.decisionPolicy.reviewThreshold),
            "baseline_copy_rows_per_s": copyRate.rounded(),
            "latency_rate_per_s": latencyRate,
            "latency_fetch_wait_ms": fetchWaitMs ?? 10,
            "latency_p50_ms": (latency.p50 * 100).rounded() / 100,
            "latency_p99_ms": (latency.p99 * 100).rounded() / 100,
            "target_latency_p99_ms": ((floor.p99 + 10) * 100).rounded() / 100,
            "latency_linger_ms": lingerMs,
            "warm_up_events": warmUpEvents,
            "delivery_floor_p50_ms": (floor.p50 * 100).rounded() / 100,
            "delivery_floor_p99_ms": (floor.p99 * 100).rounded() / 100,
            "ratio_to_copy": (rate / copyRate * 1000).rounded() / 1000,
            "ceiling_audit_events_per_s": ceiling.rounded(),
            "ratio_to_ceiling": (rate / ceiling * 1000).rounded() / 1000,
            "transactions": summary.batches,
            "decide_s": (summary.decideSeconds * 100).rounded() / 100,
            "write_s": (summary.writeSeconds * 100).rounded() / 100,
            "target_ratio_to_ceiling": 0.9,
            "ceiling_before_events_per_s": before.rate.rate.rounded(),
            "ceiling_after_over_before": (ceiling / before.rate.rate * 1000).rounded() / 1000,
            "ceiling_server_cpu_us_per_event": ceilingFigures.cpuMicroseconds.map { ($0 * 100).rounded() / 100 } ?? -1,
            "ceiling_before_server_cpu_us_per_event": before.rate.cpuMicroseconds.map { ($0 * 100).rounded() / 100 } ?? -1,
            "row_bytes_per_decision": rowBytes.total.rounded(),
            "row_heap_bytes": rowBytes.heap.rounded(),
            "row_index_bytes": rowBytes.index.rounded(),
            "row_tuple_bytes": rowBytes.tuple.rounded(),
            "chain_bytes_per_decision": (linkBytesPerDecision * 10).rounded() / 10,
            "row_bytes_per_decision_before": before.bytes.total.rounded(),
            "row_heap_bytes_before": before.bytes.heap.rounded(),
            "row_index_bytes_before": before.bytes.index.rounded(),
            "row_tuple_bytes_before": before.bytes.tuple.rounded(),
            "chain_links": links,
            "signing": signing,
            "verify_rows_per_s": (Double(verification.rowsCovered) / verification.seconds).rounded(),
            "yardstick_full_per_s": peer.map { $0.full.rounded() } ?? -1,
            "yardstick_no_models_per_s": peer.map { $0.noModels.rounded() } ?? -1,
            "ratio_to_yardstick_no_models": peer.map { (rate / $0.noModels * 1000).rounded() / 1000 } ?? -1,
            "target_ratio_to_yardstick_no_models": 2.5,
            "load_average_start": loadAtStart,
            "load_average_end": loadAtEnd,
        ]
        if let learning { json.merge(GroupLearningRun.json(learning.group, learning.single)) { $1 } }
        if let b = learningCeiling { json["learning_burst_examples_per_s"] = b.examplesPerSecond.rounded() }
        try BenchReport.finish(json)
    }

    /// Runs `instances` pipelines in one group until the topic is drained; the summary adds
    /// their counts and takes the longest busy time (they start together).
    private func runInstances(configuration: ServeConfiguration) async throws -> PipelineSummary {
        try await withThrowingTaskGroup(of: PipelineSummary.self) { group in
            for i in 0..<instances {
                var c = configuration
                c.memberName = "\(configuration.memberName)-\(i)"
                // One process, several members: only the first serves /metrics (one port).
                if i > 0 { c.telemetry.port = 0 }
                group.addTask { try await FraudPipeline(configuration: c, log: ServiceLog(minimumLevel: .warning)).run() }
            }
            var total = PipelineSummary()
            for try await s in group {
                total.decided += s.decided
                total.alerts += s.alerts
                total.batches += s.batches
                total.deadLettered += s.deadLettered
                total.activeSeconds = max(total.activeSeconds, s.activeSeconds)
                total.decideSeconds += s.decideSeconds
                total.writeSeconds += s.writeSeconds
                total.modelVersion = max(total.modelVersion, s.modelVersion)
            }
            return total
        }
    }

    /// Rows per second of a bare binary COPY of the stored decision rows (read back first)
    /// into a table of the same columns without indexes, trigger or partitions: what the
    /// sink's audit writes are measured against.
    private func copyBaseline(connection: PostgresConnection, schema: String) async throws -> Double {
        let s = quoteIdentifier(schema)
        try await connection.execute("CREATE TABLE \(s).copy_baseline (LIKE \(s).decisions)", [])
        let rows = try await connection.query("SELECT * FROM \(s).decisions", [])
        let columns = rows.columns.map(\.name)
        let started = ContinuousClock.now
        let copied = try await connection.copy(into: "copy_baseline", schema: schema, columns: columns) { writer in
            for row in rows { try writer.appendRow(row.values) }
        }
        let (seconds, attoseconds) = (ContinuousClock.now - started).components
        return Double(copied) / (Double(seconds) + Double(attoseconds) / 1e18)
    }

    /// Event-to-decision latency (Kafka timestamp to commit) while a producer sends at a
    /// steady `latencyRate` into a fresh topic that the pipeline is already serving.
    private func steadyLatency(configuration: ServeConfiguration, brokers: String,
                               payloads: [(key: [UInt8], value: [UInt8])]) async throws -> (p50: Double, p99: Double) {
        var c = configuration
        c.topic = configuration.topic + "-steady"
        c.groupID = configuration.groupID + "-steady"
        c.maxEvents = nil
        c.recordLatencies = true
        c.exitWhenIdle = .seconds(8)  // longer than the wait for the group join below
        if let fetchWaitMs { c.kafkaProperties["fetch.wait.max.ms"] = String(fetchWaitMs) }
        try KafkaBaseline.createTopic(brokers: brokers, topic: c.topic, partitions: partitions)
        let pipeline = try FraudPipeline(configuration: c, log: ServiceLog(minimumLevel: .warning))
        let serving = Task { try await pipeline.run() }
        try await Task.sleep(for: .seconds(4))  // the group join
        var producerConfig = KafkaProducerConfiguration(bootstrapServers: [brokers])
        producerConfig.linger = .milliseconds(lingerMs)
        let producer = try KafkaProducer(configuration: producerConfig)
        try await SteadyProducer.send(latencyRate * latencySeconds, rate: latencyRate, topic: c.topic, payloads: payloads, producer: producer)
        try await producer.close(timeout: .seconds(30))
        let summary = try await serving.value
        let sorted = summary.latenciesMilliseconds.sorted()
        guard !sorted.isEmpty else { throw ValidationError("the steady run decided nothing") }
        let percentile = EngineBenchmarkSupport.percentile
        let delivered = summary.deliveryMilliseconds.sorted()
        if !delivered.isEmpty {
            print("  of which Kafka timestamp to poll: p50 \(String(format: "%.2f", percentile(delivered, 0.5))) ms, p99 \(String(format: "%.2f", percentile(delivered, 0.99))) ms; \(summary.batches) transactions, decide \(String(format: "%.2f", summary.decideSeconds)) s, write \(String(format: "%.2f", summary.writeSeconds)) s")
        }
        return (percentile(sorted, 0.5), percentile(sorted, 0.99))
    }
}
