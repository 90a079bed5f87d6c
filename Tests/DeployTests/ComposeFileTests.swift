// deploy/compose: Kafka in KRaft mode from the official image, PostgreSQL, a one-shot migrate
// before two `serve` replicas of one group, `gen` behind a profile, Prometheus scraping Vigil,
// and passwords only from the environment.
import Foundation
import Testing

@Suite struct ComposeFileTests {
    static func services() throws -> [String: [String: Any]] {
        let compose = try DeployFiles.yamlMapping("deploy/compose/compose.yaml")
        return try #require(compose["services"] as? [String: [String: Any]])
    }

    static func environment(_ service: [String: Any]) -> [String: String] {
        (service["environment"] as? [String: Any] ?? [:]).mapValues { "\($0)" }
    }

    @Test func kafkaRunsKRaftFromTheOfficialImage() throws {
        let kafka = try #require(try Self.services()["kafka"])
        #expect((kafka["image"] as? String)?.hasPrefix("apache/kafka:") == true)
        let roles = Self.environment(kafka)["KAFKA_PROCESS_ROLES"] ?? ""
        #expect(roles.contains("controller") && roles.contains("broker"))
        #expect(Self.environment(kafka)["KAFKA_ZOOKEEPER_CONNECT"] == nil)
    }

    @Test func migrateRunsOnceBeforeTwoServeReplicas() throws {
        let services = try Self.services()
        let migrate = try #require(services["migrate"])
        #expect(migrate["command"] as? [String] == ["migrate"])
        #expect(migrate["restart"] as? String == "no")
        let serve = try #require(services["vigil"])
        #expect(serve["command"] as? [String] == ["serve"])
        let replicas = try #require(serve[path: "deploy.replicas"] as? Int)
        #expect(replicas == 2)
        #expect(serve[path: "depends_on.migrate.condition"] as? String == "service_completed_successfully")
        let environment = Self.environment(serve)
        #expect(environment["VIGIL_GROUP"] != nil && environment["VIGIL_METRICS_ADDRESS"] == "0.0.0.0")
        // Both replicas get partitions only if the topic has at least as many.
        let topics = try #require(services["topics"])
        let partitions = try #require(Self.environment(topics)["VIGIL_TRANSACTIONS_PARTITIONS"].flatMap { Int($0) })
        #expect(replicas <= partitions)
        for key in environment.keys where key.hasPrefix("VIGIL_") {
            #expect(try DeployFiles.documentedEnvironmentVariables().contains(key), "\(key) is not a documented variable")
        }
    }

    @Test func vigilServicesBuildTheOneImage() throws {
        let services = try Self.services()
        for name in ["migrate", "vigil", "gen"] {
            let service = try #require(services[name])
            #expect(service[path: "build.dockerfile"] as? String == "deploy/docker/Dockerfile", "\(name)")
            #expect(service[path: "build.context"] as? String == "../..", "\(name)")
            #expect((service["image"] as? String)?.contains("vigil:dev") == true, "\(name)")
        }
    }

    @Test func genIsAnOptionalLoadProfile() throws {
        let gen = try #require(try Self.services()["gen"])
        #expect(gen["profiles"] as? [String] == ["load"])
        let command = try #require(gen["command"] as? [String])
        #expect(command.first == "gen" && command.contains("kafka"))
        #expect(try Self.services().filter { $0.value["profiles"] != nil }.keys.sorted() == ["gen"])
    }

    @Test func prometheusScrapesTheServeReplicasAndLoadsTheAlerts() throws {
        let prometheus = try #require(try Self.services()["prometheus"])
        let volumes = try #require(prometheus["volumes"] as? [String])
        #expect(volumes.contains { $0.hasPrefix("../prometheus/alerts.yml:/etc/prometheus/rules/") })
        #expect(volumes.contains { $0.hasPrefix("./prometheus.yml:/etc/prometheus/prometheus.yml") })
        let config = try DeployFiles.yamlMapping("deploy/compose/prometheus.yml")
        #expect((config["rule_files"] as? [String])?.contains("/etc/prometheus/rules/*.yml") == true)
        let jobs = try #require(config["scrape_configs"] as? [[String: Any]])
        let vigil = try #require(jobs.first { $0["job_name"] as? String == "vigil" })
        let discovery = try #require((vigil["dns_sd_configs"] as? [[String: Any]])?.first)
        #expect(discovery["names"] as? [String] == ["vigil"])
        let serve = try #require(try Self.services()["vigil"])
        let port = try #require(Self.environment(serve)["VIGIL_METRICS_PORT"])
        #expect(discovery["port"] as? Int == Int(port))
    }

    @Test func passwordsComeOnlyFromTheEnvironment() throws {
        for (name, service) in try Self.services() {
            for (key, value) in Self.environment(service) where key.uppercased().contains("PASSWORD") {
                // ${VAR:?message} (required, no default) and nothing else.
                #expect(value.range(of: #"^\$\{[A-Z_]+:\?[^}]*\}$"#, options: .regularExpression) != nil, "\(name).\(key) = \(value)")
            }
            for (key, value) in Self.environment(service) {
                #expect(!KubernetesManifestTests.looksLikeCredentials(value), "\(name).\(key)")
            }
        }
    }
}
