// `vigil serve` as deploy/ runs it: the serve.json of deploy/k8s/configmap.yaml (with the
// test's own schema, topic, group and port on top), VIGIL_* variables, and a database login
// that is only a member of the service role, with its password in PGPASSWORD.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import VigilPostgres
import Yams

/// One running `vigil serve` child and what the test created for it (a struct: the child
/// process is the only state, and `Process` is already a reference).
struct ServeUnderDeploySettings {
    let events: Int
    let port: Int
    let process: Process
    let target: MigrationTarget
    let login: String
    let folder: URL

    /// The JSON config file the Kubernetes Deployment mounts.
    static func kubernetesServeConfig() throws -> [String: Any] {
        let text = try String(contentsOf: DeployMetricsTests.root.appendingPathComponent("deploy/k8s/configmap.yaml"), encoding: .utf8)
        var documents = try Yams.load_all(yaml: text)
        var found: String?
        while let document = documents.next() {
            guard let object = document as? [String: Any], object["kind"] as? String == "ConfigMap",
                  (object["metadata"] as? [String: Any])?["name"] as? String == "vigil-serve" else { continue }
            found = (object["data"] as? [String: Any])?["serve.json"] as? String
        }
        if let error = documents.error { throw error }
        let json = try #require(found, "deploy/k8s/configmap.yaml has no ConfigMap vigil-serve with serve.json")
        return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    static func output(of arguments: [String]) throws -> String {
        try ChildProcess.vigil(arguments).stdout
    }

    static func start(events: Int) async throws -> ServeUnderDeploySettings {
        let binary = try ServeCrashTests.vigilExecutable()
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("deploy-metrics")
        try KafkaTestSupport.createTopic(topic, partitions: 2, brokers: brokers)
        // The database as deploy/compose sets it up: its init script creates the service role
        // and the service's login (a member of it, nothing more), then migrate runs as the owner.
        let target = try PostgresTestDatabase.newTarget()
        let login = "\(target.schema)_login"
        let password = UUID().uuidString.replacingOccurrences(of: "-", with: "")
        do {
            try runComposeInitScript(serviceRole: target.serviceRole, login: login, password: password)
            let session = try PostgresTestDatabase.session()
            defer { session.close() }
            _ = try MigrationRunner(session: session, target: target).migrate(try PostgresTestDatabase.migrations())
            let messages = ServeTestSupport.simulatedMessages(events, topic: topic)
            try await ServeTestSupport.produce(messages, brokers: brokers)
            _ = try await ServeTestSupport.seedModel(target, events: messages)
            return try launch(binary: binary, brokers: brokers, topic: topic, target: target, login: login, password: password, events: events)
        } catch {
            dropDatabaseObjects(target: target, login: login)
            throw error
        }
    }

    private static func launch(binary: URL, brokers: String, topic: String, target: MigrationTarget, login: String, password: String,
                               events: Int) throws -> ServeUnderDeploySettings {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-deploy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let specFile = folder.appendingPathComponent("spec.json")
        try JSONEncoder().encode(ServeTestSupport.spec).write(to: specFile)
        let port = try LoopbackPort.free()
        var config = try kubernetesServeConfig()
        // Only what must differ per test run (and the small feature tables the debug build needs).
        config["schema"] = target.schema
        config["topic"] = topic
        config["group"] = KafkaTestSupport.uniqueName("deploy")
        config["metrics_port"] = port
        config["lag_interval_ms"] = 200
        config["feature_spec"] = specFile.path
        config["max_cards"] = ServeTestSupport.state.maxCards
        config["recent_events"] = ServeTestSupport.state.recentEvents
        let configFile = folder.appendingPathComponent("serve.json")
        try JSONSerialization.data(withJSONObject: config).write(to: configFile)

        var url = try #require(URLComponents(string: try StackEnvironment.require("VIGIL_DATABASE_URL")))
        url.user = login
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VIGIL_") && !$0.key.hasPrefix("PG") }
        environment["VIGIL_KAFKA_BROKERS"] = brokers
        environment["VIGIL_DATABASE_URL"] = url.string
        environment["PGPASSWORD"] = password

        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve", "--config", configFile.path, "--log-level", "warning"]
        process.environment = environment
        process.standardOutput = try FileHandle(forWritingTo: Self.create(folder.appendingPathComponent("stdout")))
        process.standardError = try FileHandle(forWritingTo: Self.create(folder.appendingPathComponent("stderr")))
        try process.run()
        return ServeUnderDeploySettings(events: events, port: port, process: process, target: target, login: login, folder: folder)
    }

    /// deploy/compose/postgres-init/10-vigil-service-login.sh against the local server, with
    /// the variables the postgres image's entrypoint gives it.
    static func runComposeInitScript(serviceRole: String, login: String, password: String) throws {
        let database = try #require(URLComponents(string: try StackEnvironment.require("VIGIL_DATABASE_URL")))
        var environment = ProcessInfo.processInfo.environment
        environment["POSTGRES_USER"] = database.user
        environment["POSTGRES_DB"] = String(database.path.dropFirst())
        environment["PGHOST"] = database.host
        environment["PGPORT"] = database.port.map(String.init)
        if let passfile = StackEnvironment.value("PGPASSFILE") { environment["PGPASSFILE"] = passfile }
        environment["VIGIL_PG_SERVICE_PASSWORD"] = password
        environment["VIGIL_SERVICE_ROLE"] = serviceRole
        environment["VIGIL_SERVICE_LOGIN"] = login
        let script = DeployMetricsTests.root.appendingPathComponent("deploy/compose/postgres-init/10-vigil-service-login.sh")
        let result = try ChildProcess.run(URL(fileURLWithPath: "/bin/sh"), [script.path], environment: environment)
        guard result.status == 0 else {
            throw DeployRunError(description: "the compose init script failed (\(result.status)): \(result.stdout)\(result.stderr)")
        }
    }

    private static func create(_ url: URL) -> URL {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        return url
    }

    /// The exposition once every event is consumed and both partitions' lag gauges read 0.
    func scrapeWhenDrained() async throws -> String {
        var last = ""
        for _ in 0..<900 where process.isRunning {
            if let text = try? await ServeMetricsTests.get(port, "/metrics").body {
                last = text
                let lag = text.split(separator: "\n").filter { $0.hasPrefix("vigil_consumer_lag_messages{") }
                if ServeMetricsTests.value(text, "vigil_events_consumed_total") == Double(events) && lag.count == 2 && lag.allSatisfy({ $0.split(separator: " ").last.flatMap { Double($0) } == 0 }) {
                    return text
                }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw DeployRunError(description: "vigil serve did not drain the topic (running: \(process.isRunning)); last scrape:\n\(last)\nstderr:\n\(errors)")
    }

    struct Summary: CustomStringConvertible {
        var status: Int32
        var decided: Int
        var deadLettered: Int
        var errors: String
        var description: String { "exit \(status), decided \(decided), dead-lettered \(deadLettered)" }
    }

    /// SIGTERM, then the run summary (one JSON line on standard output).
    func stop() async throws -> Summary {
        process.terminate()
        process.waitUntilExit()
        let line = (try? String(contentsOf: folder.appendingPathComponent("stdout"), encoding: .utf8)) ?? ""
        let summary = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
        return Summary(status: process.terminationStatus, decided: summary["decided"] as? Int ?? -1,
                       deadLettered: summary["dead_lettered"] as? Int ?? -1, errors: errors)
    }

    var errors: String { (try? String(contentsOf: folder.appendingPathComponent("stderr"), encoding: .utf8)) ?? "" }

    func finish() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        Self.dropDatabaseObjects(target: target, login: login)
        try? FileManager.default.removeItem(at: folder)
    }

    static func dropDatabaseObjects(target: MigrationTarget, login: String) {
        if let session = try? PostgresTestDatabase.session() {
            _ = try? session.execute("DROP ROLE IF EXISTS \(quoteIdentifier(login))", [])
            session.close()
        }
        ServeTestSupport.drop(target)
    }
}

struct DeployRunError: Error, CustomStringConvertible {
    let description: String
}
