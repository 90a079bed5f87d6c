// `tools/bench e2e --instances N`'s learning figures: one labelled simulated stream (its
// transactions and its labels in time order, at a steady rate) served with learning on by N
// instances of one consumer group and, in the same run, by one instance, each from the same
// first model. From each instance's own /metrics exposition, sampled every 100 ms as
// Prometheus would: the examples sent through the training topic and their encoded bytes, the
// examples the learner took, and the learner's lag. The final live models of both runs are
// then judged on later transactions neither served (HeldOutEvaluation).
import ArgumentParser
import Foundation
import KafkaBaseline
import VigilEngine
import VigilFeatures
import VigilKafka
import VigilPostgres
import VigilReplay
import VigilService
import VigilSimulator

struct GroupLearningRun {
    /// What one run (N instances or one) measured.
    struct Figures {
        var instances: Int
        var examplesSent = 0
        var exampleBytes = 0
        var examplesReceived = 0
        /// Labels in the stream that no instance could join to a scored vector.
        var labelsUnjoined = 0
        /// From the first example sent to the last one the learner took.
        var seconds = 0.0
        var lagSamples: [Double] = []
        var liveVersion: Int64 = 0
        var labelsLearntByLive = 0
        var heldOut: HeldOutEvaluation.Figure?

        var examplesPerSecond: Double { seconds > 0 ? Double(examplesReceived) / seconds : 0 }
        var bytesPerExample: Double { examplesSent > 0 ? Double(exampleBytes) / Double(examplesSent) : 0 }
        /// Bytes the instances' training producers sent to the broker (after lz4, with request framing).
        var wireBytes = 0
        var wireBytesPerExample: Double { examplesSent > 0 ? Double(wireBytes) / Double(examplesSent) : 0 }
        var lagP99: Double { lagSamples.isEmpty ? 0 : EngineBenchmarkSupport.percentile(lagSamples.sorted(), 0.99) }
    }

    /// The stream: transactions and labels in time order, and the served plus later
    /// transactions with their truth for the held-out judgement.
    struct Stream {
        var records: [(isLabel: Bool, key: [UInt8], value: [UInt8])] = []
        var labels = 0
        var served = 0
        var evaluation = ReplayInput()

        init(served: Int, heldOut: Int, labelDelayHours: Double) {
            var world = SimulatorConfiguration()
            world.seed = 13
            world.labelDelayHours = labelDelayHours
            let decoder = EventDecoder()
            for record in TransactionSimulator(configuration: world, maxTransactions: served + heldOut) {
                switch record {
                case .transaction(let t):
                    let value = Array(t.json(truth: false).utf8)
                    guard let event = try? decoder.decode(value) else { continue }
                    evaluation.events.append(event)
                    evaluation.truth.append(t.scenario.isFraud ? .fraud : .legit)
                    if evaluation.events.count <= served { records.append((false, Array(t.cardID.utf8), value)) }
                case .label(let l):
                    // Labels of served transactions, while the stream is served.
                    guard evaluation.events.count <= served else { continue }
                    records.append((true, Array(l.eventID.utf8), Array(l.json().utf8)))
                    labels += 1
                }
            }
            self.served = min(served, evaluation.events.count)
        }
    }

    let brokers: String
    let databaseURL: String
    let migrations: [Migration]
    let firstModel: ModelSet
    let partitions: Int
    let rate: Int
    let base: ServeConfiguration

    /// Serves `stream` with `instances` members until the learner took every example sent,
    /// then stops them and judges the live version on the held-out transactions. With `burst`
    /// the labels are held back until every transaction is decided and then produced at once:
    /// the examples' rate is then the learning path's own ceiling, not the labels' arrival rate.
    func run(_ stream: Stream, instances: Int, burst: Bool = false) async throws -> Figures {
        let id = UUID().uuidString.prefix(8).lowercased()
        let topic = "bench-learn-\(id)", labelsTopic = topic + "-labels"
        try KafkaBaseline.createTopic(brokers: brokers, topic: topic, partitions: partitions)
        try KafkaBaseline.createTopic(brokers: brokers, topic: labelsTopic, partitions: 1)
        let target = try MigrationTarget(schema: "bench_learn_\(id)", serviceRole: "bench_learn_\(id)_svc", analystRole: "bench_learn_\(id)_an")
        let connection = PostgresConnection(configuration: try PostgresConfiguration(url: databaseURL), label: "bench.learn")
        _ = try await connection.withSession { try MigrationRunner(session: $0, target: target).migrate(migrations) }
        func drop() async {
            _ = try? await connection.withSession { session in
                try session.execute("DROP SCHEMA \(quoteIdentifier(target.schema)) CASCADE", [])
                try session.execute("DROP ROLE IF EXISTS \(quoteIdentifier(target.serviceRole))", [])
                try session.execute("DROP ROLE IF EXISTS \(quoteIdentifier(target.analystRole))", [])
            }
            await connection.close()
        }
        do {
            let figures = try await serve(stream, instances: instances, topic: topic, labelsTopic: labelsTopic, schema: target.schema,
                                          connection: connection, burst: burst)
            await drop()
            return figures
        } catch {
            await drop()
            throw error
        }
    }

    private func serve(_ stream: Stream, instances: Int, topic: String, labelsTopic: String, schema: String,
                       connection: PostgresConnection, burst: Bool) async throws -> Figures {
        let store = ModelStore(connection: connection, schema: schema)
        _ = try await store.promoteFirst(firstModel)

        var c = base
        c.schema = schema
        c.topic = topic
        c.labelsTopic = labelsTopic
        c.groupID = topic
        c.exitWhenIdle = nil
        c.maxEvents = nil
        c.training = true
        // Sampled from each instance's registry directly: no HTTP endpoints to collide on one host.
        c.telemetry.port = 0
        c.learner.trainingTopic = topic + "-training"
        try KafkaBaseline.createTopic(brokers: brokers, topic: c.learner.trainingTopic, partitions: 1)
        let stop = StopSignal()
        let members = (0..<instances).map { i -> (ServeConfiguration, ServiceTelemetry) in
            var m = c
            m.memberName = "\(c.memberName)-\(i)"
            return (m, ServiceTelemetry(configuration: m.telemetry))
        }
        let serving = members.map { m, telemetry in
            Task { try await FraudPipeline(configuration: m, log: ServiceLog(minimumLevel: .warning), telemetry: telemetry).run(stop: stop) }
        }
        // Events scored before an instance's learning started cannot be joined to their labels.
        let s = quoteIdentifier(schema)
        while try await connection.query("SELECT count(*) FROM \(s).learner_lease", []).single().decode(0, as: Int64.self) == 0 {
            try await Task.sleep(for: .milliseconds(100))
        }
        try await Task.sleep(for: .seconds(3))

        let telemetry = members.map(\.1), expected = stream.labels
        let sampling = Task { try await Self.sample(telemetry, until: expected) }
        var producerConfig = KafkaProducerConfiguration(bootstrapServers: [brokers])
        producerConfig.linger = .milliseconds(5)
        let producer = try KafkaProducer(configuration: producerConfig)
        let paced = burst ? stream.records.filter { !$0.isLabel } : stream.records
        let clock = ContinuousClock(), start = clock.now
        var sent = 0
        while sent < paced.count {
            let due = min(Int(Double(rate) * (clock.now - start).seconds), paced.count)
            while sent < due {
                let r = paced[sent]
                try await producer.sendWhenQueued(KafkaProducerMessage(topic: r.isLabel ? labelsTopic : topic, key: r.key, value: r.value))
                sent += 1
            }
            try await Task.sleep(for: .milliseconds(1))
        }
        if burst {
            while try await connection.query("SELECT count(*) FROM \(s).decisions", []).single().decode(0, as: Int64.self) < Int64(paced.count) {
                try await Task.sleep(for: .milliseconds(100))
            }
            for r in stream.records where r.isLabel {
                try await producer.sendWhenQueued(KafkaProducerMessage(topic: labelsTopic, key: r.key, value: r.value))
            }
        }
        try await producer.close(timeout: .seconds(60))
        var figures = try await sampling.value
        figures.instances = instances
        figures.labelsUnjoined = stream.labels - figures.examplesSent
        // The last examples learnt go into a version at the next check (every 1,000 labels or
        // 30 s): give it that long, then stop.
        try await Task.sleep(for: base.trainer.publishInterval + .seconds(2))
        stop.stop()
        for task in serving { _ = try await task.value }

        guard let live = try await store.loadPromoted() else { throw ValidationError("no live model after the learning run") }
        figures.liveVersion = live.version
        figures.labelsLearntByLive = Int(try await connection.query("""
            SELECT coalesce(sum(next_offset), 0)::bigint FROM \(s).learner_positions WHERE version = $1
            """, [.int64(live.version)]).single().decode(0, as: Int64.self))
        figures.heldOut = try HeldOutEvaluation.measure(live, input: stream.evaluation, from: stream.served, spec: base.featureSpec)
        return figures
    }

    /// Samples every instance's exposition every 100 ms until the learner took `expected`
    /// examples (or nothing moved for 60 s).
    private static func sample(_ instances: [ServiceTelemetry], until expected: Int) async throws -> Figures {
        var figures = Figures(instances: instances.count)
        let clock = ContinuousClock()
        var firstSent: ContinuousClock.Instant?, lastReceived: ContinuousClock.Instant?, lastChange = clock.now
        var previous = (0, 0)
        while figures.examplesReceived < expected, clock.now - lastChange < .seconds(60) {
            try await Task.sleep(for: .milliseconds(100))
            var sent = 0, bytes = 0, received = 0, lag = 0.0
            for telemetry in instances {
                let m = PrometheusText(telemetry.exposition())
                sent += Int(m["vigil_training_examples_sent_total"])
                bytes += Int(m["vigil_training_example_bytes_total"])
                received += Int(m["vigil_training_examples_received_total"])
                lag = max(lag, m["vigil_learner_lag_examples"])
            }
            if sent > 0, firstSent == nil { firstSent = clock.now }
            if received > figures.examplesReceived { lastReceived = clock.now }
            if (sent, received) != previous { lastChange = clock.now }
            previous = (sent, received)
            (figures.examplesSent, figures.exampleBytes, figures.examplesReceived) = (sent, bytes, received)
            if firstSent != nil { figures.lagSamples.append(lag) }
        }
        if let firstSent, let lastReceived { figures.seconds = (lastReceived - firstSent).seconds }
        // librdkafka reports its byte totals every second and the trainers pass them on at their
        // next label poll: the totals after the last send.
        try await Task.sleep(for: .milliseconds(2_500))
        figures.wireBytes = instances.reduce(0) { $0 + Int(PrometheusText($1.exposition())["vigil_training_sent_wire_bytes_total"]) }
        return figures
    }
}

/// Unlabelled series of a Prometheus text exposition, by name.
struct PrometheusText {
    private var values: [Substring: Double] = [:]

    init(_ bytes: [UInt8]) {
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count >= 2, !parts[0].contains("{"), let value = Double(parts[1]) else { continue }
            values[parts[0]] = value
        }
    }

    subscript(name: Substring) -> Double { values[name] ?? 0 }
}

extension GroupLearningRun {
    static func report(_ group: Figures, _ single: Figures) {
        for f in [group, single] {
            let heldOut = f.heldOut.map { "\($0)" } ?? "-"
            print("""
                learning with \(f.instances) instance\(f.instances == 1 ? "" : "s"): \(f.examplesSent) examples sent, \(f.examplesReceived) learnt from the training topic \
                in \(String(format: "%.1f", f.seconds)) s (\(Int(f.examplesPerSecond.rounded()))/s), \(f.labelsUnjoined) labels no instance could join; \
                \(String(format: "%.1f", f.bytesPerExample)) bytes per example before compression, \(String(format: "%.1f", f.wireBytesPerExample)) \
                sent to the broker (lz4, request framing, \(f.wireBytes) bytes); learner lag p99 \(Int(f.lagP99)) examples \
                (max \(Int(f.lagSamples.max() ?? 0))); live version \(f.liveVersion) learnt \(f.labelsLearntByLive) of them; held out: \(heldOut)
                """)
        }
        if let a = group.heldOut?.auprc, let b = single.heldOut?.auprc, let se = single.heldOut?.standardError {
            print("held-out AUPRC, \(group.instances) instances against one: \(String(format: "%.4f", a)) vs \(String(format: "%.4f", b)) "
                  + "(difference \(String(format: "%+.4f", a - b)), 2 SE \(String(format: "%.4f", 2 * se)))")
        }
    }

    static func json(_ group: Figures, _ single: Figures) -> [String: Any] {
        var out: [String: Any] = [:]
        for (key, f) in [("group", group), ("single", single)] {
            out["learning_\(key)_instances"] = f.instances
            out["learning_\(key)_examples_sent"] = f.examplesSent
            out["learning_\(key)_examples_learnt"] = f.examplesReceived
            out["learning_\(key)_labels_unjoined"] = f.labelsUnjoined
            out["learning_\(key)_examples_per_s"] = f.examplesPerSecond.rounded()
            out["learning_\(key)_bytes_per_example"] = (f.bytesPerExample * 10).rounded() / 10
            out["learning_\(key)_wire_bytes_per_example"] = (f.wireBytesPerExample * 10).rounded() / 10
            out["learning_\(key)_lag_p99_examples"] = f.lagP99.rounded()
            out["learning_\(key)_live_version"] = f.liveVersion
            out["learning_\(key)_live_labels_learnt"] = f.labelsLearntByLive
            out["learning_\(key)_held_out_auprc"] = f.heldOut?.auprc.map { ($0 * 10_000).rounded() / 10_000 } ?? -1
            out["learning_\(key)_held_out_auprc_se"] = f.heldOut?.standardError.map { ($0 * 10_000).rounded() / 10_000 } ?? -1
        }
        return out
    }
}
