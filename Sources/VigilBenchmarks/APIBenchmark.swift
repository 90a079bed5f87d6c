// `tools/bench api`: synchronous scoring (`POST /v1/score` of `vigil serve --api`) at steady
// offered rates, with every decision audited (durable: answered after its commit; relaxed:
// before), next to the HTTP floor measured in the same run: the same client against a
// Hummingbird handler that only reads the body and answers. Serve runs in this process with a
// private schema, a model trained on earlier simulated history and an empty transactions topic
// (only API traffic); every answered decision's row is counted afterwards and the chain is
// verified.
import ArgumentParser
import Foundation
import KafkaBaseline
import VigilAudit
import VigilEngine
import VigilFeatures
import VigilPostgres
import VigilService
import VigilSimulator

struct APIBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api",
        abstract: "Latency of POST /v1/score at steady offered rates, durable and relaxed audit, next to the HTTP floor."
    )

    @Option(help: "Offered rates, requests per second, comma-separated.") var rates = "1000,2000,5000"
    @Option(help: "Seconds per rate.") var seconds = 10.0
    @Option(help: "Keep-alive connections of the load generator (one thread each): enough to offer the highest rate at a few tens of milliseconds per answer.") var connections = 64
    @Option(help: "Partitions of the (empty) transactions topic.") var partitions = 4
    @Option(help: "Transactions of earlier simulated history the model is trained on.") var warmUpEvents = 20_000
    @Flag(help: "Skip the relaxed-commit run.") var noRelaxed = false

    var offered: [Int] { rates.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        guard !offered.isEmpty, offered.allSatisfy({ $0 > 0 }), seconds > 0, connections > 0, partitions > 0, warmUpEvents >= 2_000 else {
            throw ValidationError("rates, seconds, connections and partitions must be positive; warm-up events at least 2000")
        }
    }

    func run() async throws {
        let loadAtStart = BenchReport.loadAverage()
        print("load average at start: \(loadAtStart)")
        let brokers = try BenchReport.environment("VIGIL_KAFKA_BROKERS")
        let databaseURL = try BenchReport.environment("VIGIL_DATABASE_URL")
        let id = UUID().uuidString.prefix(8).lowercased()
        let topic = "bench-api-\(id)"
        try KafkaBaseline.createTopic(brokers: brokers, topic: topic, partitions: partitions)
        let target = try MigrationTarget(schema: "bench_api_\(id)", serviceRole: "bench_api_\(id)_svc", analystRole: "bench_api_\(id)_an")
        let connection = PostgresConnection(configuration: try PostgresConfiguration(url: databaseURL), label: "bench.api")
        let directory = try MigrationDirectory.locate(explicit: nil, environment: ProcessInfo.processInfo.environment,
                                                      executablePath: CommandLine.arguments[0],
                                                      currentDirectory: FileManager.default.currentDirectoryPath)
        _ = try await connection.withSession { try MigrationRunner(session: $0, target: target).migrate(try Migration.load(directory: directory)) }

        // The model: trained on an earlier stretch of the simulated world, as in `e2e`.
        var history = SimulatorConfiguration()
        history.seed = 12
        let decoder = EventDecoder()
        var warmUp: [TransactionEvent] = []
        for record in TransactionSimulator(configuration: history, maxTransactions: warmUpEvents) {
            guard case .transaction(let t) = record, let event = try? decoder.decode(Array(t.json(truth: false).utf8)) else { continue }
            warmUp.append(event)
        }
        let models = try ColdStart.train(events: warmUp, spec: .standard, state: FeatureStateConfiguration())
        _ = try await ModelStore(connection: connection, schema: target.schema).promoteFirst(models)

        // Request bodies: later simulated traffic (cards recur, so their state builds up).
        let perTarget = offered.reduce(0) { $0 + Int(Double($1) * seconds) } + 1_000
        var simulator = SimulatorConfiguration()
        simulator.seed = 11
        var templates: [(id: String, json: String)] = []
        templates.reserveCapacity(perTarget)
        for record in TransactionSimulator(configuration: simulator, maxTransactions: perTarget) {
            if case .transaction(let t) = record { templates.append((t.eventID, t.json(truth: false))) }
        }
        let pool = templates
        print("schema \(target.schema): model v1 on \(warmUp.count) events; \(pool.count) request bodies per run; \(connections) connections")

        var c = ServeConfiguration()
        c.brokers = [brokers]
        c.databaseURL = databaseURL
        c.schema = target.schema
        c.topic = topic
        c.groupID = "bench-api-\(id)"
        c.sessionTimeout = .seconds(6)
        c.training = false
        c.telemetry.port = 0
        c.api.enabled = true
        c.api.port = 0
        c.api.maxInFlight = 4_096

        // PostgreSQL's own floor for a durable answer: one tiny transaction's COMMIT (WAL flush).
        let commitFloor = try await Self.commitFloor(connection: connection, schema: target.schema)
        print(String(format: "PostgreSQL durable commit of one row, 1,000 in a row: p50 %.3f ms, p99 %.3f ms", commitFloor.p50, commitFloor.p99))
        let floor = try await HTTPFloor.start()
        var figures: [String: Any] = ["connections": connections, "seconds_per_rate": seconds, "partitions": partitions]
        var floorRuns: [Int: LoadFigures] = [:]
        var serveRuns: [String: [Int: LoadFigures]] = [:]
        for rate in offered {
            let run = APILoad.run(url: "http://127.0.0.1:\(floor.port)", rate: rate, seconds: seconds, connections: connections,
                                  body: { Array(pool[$0 % pool.count].json.utf8) }, id: { pool[$0 % pool.count].id })
            print("floor    \(run.line)")
            floorRuns[rate] = run
        }
        floor.task.cancel()
        figures["floor"] = Dictionary(uniqueKeysWithValues: floorRuns.map { ("\($0.key)", $0.value.json) })

        let modes: [ScoringConfiguration.Commit] = noRelaxed ? [.durable] : [.durable, .relaxed]
        var unstored = 0
        for mode in modes {
            var m = c
            m.api.commit = mode
            m.groupID = c.groupID + "-" + mode.rawValue
            // Its own topic too: the API source's chain is keyed by topic and partition
            // (`api:<topic>`), like a Kafka partition's, so two groups may not share one.
            m.topic = c.topic + "-" + mode.rawValue
            try KafkaBaseline.createTopic(brokers: brokers, topic: m.topic, partitions: partitions)
            let prefix = "\(mode.rawValue)-"
            let (runs, missing) = try await measure(m, pool: pool, prefix: prefix, connection: connection)
            serveRuns[mode.rawValue] = runs
            unstored += missing
            figures[mode.rawValue] = Dictionary(uniqueKeysWithValues: runs.map { ("\($0.key)", $0.value.json) })
        }
        let verification = try await connection.withSession { try AuditVerifier(session: $0, schema: target.schema).verify(VerifyRequest()) }
        _ = try? await connection.withSession { session in
            try session.execute("DROP SCHEMA \(quoteIdentifier(target.schema)) CASCADE", [])
            try session.execute("DROP ROLE IF EXISTS \(quoteIdentifier(target.serviceRole))", [])
            try session.execute("DROP ROLE IF EXISTS \(quoteIdentifier(target.analystRole))", [])
        }
        await connection.close()

        // Against the targets: p99 <= 5 ms at 2,000/s durable; relaxed p99 within 1 ms of the floor's p99; no errors.
        let loadAtEnd = BenchReport.loadAverage()
        print("load average at start: \(loadAtStart); at end: \(loadAtEnd)")
        for rate in offered {
            let f = floorRuns[rate]!
            var line = String(format: "%5d/s: floor p99 %.3f ms", rate, f.p99)
            if let d = serveRuns["durable"]?[rate] { line += String(format: "; durable p99 %.3f ms (limit 5 ms at 2000/s)", d.p99) }
            if let r = serveRuns["relaxed"]?[rate] { line += String(format: "; relaxed p99 %.3f ms, %.3f ms above the floor (limit 1 ms)", r.p99, r.p99 - f.p99) }
            print(line)
        }
        let errors = serveRuns.values.flatMap(\.values).reduce(0) { $0 + $1.errors }
        print("errors: \(errors); answered decisions without a row: \(unstored); chain \(verification.isIntact ? "intact" : "BROKEN") over \(verification.rowsCovered) rows")
        figures["errors"] = errors
        figures["pg_commit_p50_ms"] = LoadFigures.ms(commitFloor.p50)
        figures["pg_commit_p99_ms"] = LoadFigures.ms(commitFloor.p99)
        figures["answered_without_row"] = unstored
        figures["chain_intact"] = verification.isIntact
        figures["load_average"] = "\(loadAtStart) -> \(loadAtEnd)"
        if let d = serveRuns["durable"]?[2_000] { figures["durable_p99_ms_at_2000"] = LoadFigures.ms(d.p99) }
        if let r = serveRuns["relaxed"]?[2_000], let f = floorRuns[2_000] { figures["relaxed_p99_above_floor_ms_at_2000"] = LoadFigures.ms(r.p99 - f.p99) }
        try BenchReport.finish(figures)
    }

    /// Milliseconds of 1,000 single-row INSERTs, each its own durable transaction.
    static func commitFloor(connection: PostgresConnection, schema: String) async throws -> (p50: Double, p99: Double) {
        let table = "\(quoteIdentifier(schema)).bench_commit_floor"
        try await connection.execute("CREATE TABLE \(table) (n integer)", [])
        var times: [Double] = []
        for n in 0..<1_000 {
            let started = ContinuousClock.now
            try await connection.execute("INSERT INTO \(table) VALUES ($1)", [.int32(Int32(n))])
            let took = ContinuousClock.now - started
            times.append(Double(took.components.attoseconds) / 1e15 + Double(took.components.seconds) * 1000)
        }
        try await connection.execute("DROP TABLE \(table)", [])
        let sorted = times.sorted()
        return (sorted[sorted.count / 2], sorted[sorted.count * 99 / 100])
    }

    /// One serve with the API in `configuration`'s commit mode: every rate in turn, then the
    /// answered decisions' rows counted. Returns the runs and how many answered ids have no row.
    private func measure(_ configuration: ServeConfiguration, pool: [(id: String, json: String)], prefix: String,
                         connection: PostgresConnection) async throws -> ([Int: LoadFigures], Int) {
        let pipeline = try FraudPipeline(configuration: configuration, log: ServiceLog(minimumLevel: .warning))
        let queue = pipeline.scoring, telemetry = pipeline.telemetry
        let stop = StopSignal()
        let serving = Task { try await pipeline.run(stop: stop) }
        var url: String?
        for _ in 0..<3_000 where url == nil {
            if let port = queue?.listeningPort, telemetry.readiness().ok { url = "http://127.0.0.1:\(port)" } else {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        guard let url else {
            stop.stop()
            _ = try? await serving.value
            throw ValidationError("serve did not become ready")
        }
        // Bodies get this run's event ids (each request a new event), offset past the warm-up's.
        @Sendable func body(_ i: Int, _ prefix: String) -> [UInt8] {
            let t = pool[i % pool.count]
            return Array(t.json.replacingOccurrences(of: "\"\(t.id)\"", with: "\"\(prefix)\(i)-\(t.id)\"").utf8)
        }
        _ = APILoad.run(url: url, rate: 500, seconds: 1, connections: connections, body: { body($0, "warm-" + prefix) }, id: { "warm-\($0)" })
        var runs: [Int: LoadFigures] = [:]
        var answered: [String] = []
        var offset = 0
        for rate in offered {
            let base = offset
            let run = APILoad.run(url: url, rate: rate, seconds: seconds, connections: connections, body: { body(base + $0, prefix) },
                                  id: { "\(prefix)\(base + $0)-\(pool[(base + $0) % pool.count].id)" })
            print("\(configuration.api.commit.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(run.line)")
            runs[rate] = run
            answered += run.decided
            offset += Int(Double(rate) * seconds)
        }
        // Where the time went, from serve's own histograms (means over every rate of this run).
        var sums: [String: Double] = [:]
        for line in String(decoding: telemetry.exposition(), as: UTF8.self).split(separator: "\n")
        where line.hasPrefix("vigil_api_") && (line.contains("_sum") || line.contains("_count")) && !line.contains("{") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let v = Double(parts[1]) { sums[String(parts[0])] = v }
        }
        let stages = ["parse", "score", "commit_wait", "request"].map { stage -> String in
            let name = "vigil_api_\(stage)_duration_seconds"
            let mean = (sums[name + "_sum"] ?? 0) / max(1, sums[name + "_count"] ?? 0)
            return "\(stage) \(String(format: "%.3f", mean * 1000)) ms"
        }
        print("  server means: " + stages.joined(separator: ", "))
        stop.stop()
        _ = try await serving.value
        let s = quoteIdentifier(configuration.schema)
        let stored = try await connection.query("SELECT count(*) FROM \(s).decisions WHERE topic = $1 AND event_id LIKE $2",
                                                [.text(ScoringSource.topic(of: configuration.topic)), .text(prefix + "%")])
            .single().decode(0, as: Int64.self)
        return (runs, max(0, answered.count - Int(stored)))
    }
}
