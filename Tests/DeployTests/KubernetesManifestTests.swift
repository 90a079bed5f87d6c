// deploy/k8s: replicas within the partition count, probes on the real endpoints, Secrets
// referenced by name only, a migrate Job, a PodDisruptionBudget and a metrics Service that
// select the serving pods.
import Foundation
import Testing

@Suite struct KubernetesManifestTests {
    static func deployment() throws -> [String: Any] { try DeployFiles.kubernetesObject(kind: "Deployment", name: "vigil") }

    static func container(_ object: [String: Any], _ name: String) throws -> [String: Any] {
        let containers = try #require(object[path: "spec.template.spec.containers"] as? [[String: Any]])
        return try #require(containers.first { $0["name"] as? String == name })
    }

    static func podLabels(_ object: [String: Any]) throws -> [String: String] {
        try #require(object[path: "spec.template.metadata.labels"] as? [String: String])
    }

    /// True when every key/value of `selector` is among `labels`.
    static func selects(_ selector: [String: String], _ labels: [String: String]) -> Bool {
        !selector.isEmpty && selector.allSatisfy { labels[$0.key] == $0.value }
    }

    @Test func replicasDoNotExceedThePartitionCount() throws {
        let replicas = try #require(try Self.deployment()[path: "spec.replicas"] as? Int)
        let config = try DeployFiles.kubernetesObject(kind: "ConfigMap", name: "vigil")
        let annotation = (config[path: "metadata.annotations"] as? [String: Any])?["vigil.dev/transactions-partitions"] as? String
        let partitions = try #require(annotation.flatMap { Int($0) })
        #expect(replicas >= 2 && replicas <= partitions)
        // A rolling update must not add a member beyond the replicas either.
        #expect(try Self.deployment()[path: "spec.strategy.rollingUpdate.maxSurge"] as? Int == 0)
        #expect(!(try DeployFiles.kubernetesObjects().contains { $0.object["kind"] as? String == "HorizontalPodAutoscaler" }))
    }

    @Test func probesAskTheServiceEndpoints() throws {
        let container = try Self.container(try Self.deployment(), "vigil")
        let ports = try #require(container["ports"] as? [[String: Any]])
        let metrics = try #require(ports.first { $0["name"] as? String == "metrics" })
        #expect(metrics["containerPort"] as? Int == 9464)
        for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz")] {
            let get = try #require((container[probe] as? [String: Any])?["httpGet"] as? [String: Any], "\(probe) missing")
            #expect(get["path"] as? String == path, "\(probe)")
            #expect(get["port"] as? String == "metrics" || get["port"] as? Int == 9464, "\(probe)")
        }
        // The probes reach the endpoint only if it binds beyond loopback, on that port.
        let config = try #require(try DeployFiles.kubernetesObject(kind: "ConfigMap", name: "vigil")["data"] as? [String: Any])
        #expect(config["VIGIL_METRICS_ADDRESS"] as? String == "0.0.0.0")
        #expect(config["VIGIL_METRICS_PORT"] as? String == "9464")
    }

    @Test func secretsAreReferencedByNameOnly() throws {
        let objects = try DeployFiles.kubernetesObjects()
        #expect(!objects.contains { $0.object["kind"] as? String == "Secret" }, "a Secret with values is checked in")
        var referenced = Set<String>()
        for (file, object) in objects {
            for env in Self.environmentEntries(object) {
                let name = env["name"] as? String ?? ""
                if let secret = (env[path: "valueFrom.secretKeyRef"] as? [String: Any])?["name"] as? String { referenced.insert(secret) }
                if ["PASSWORD", "SECRET", "TOKEN", "KEY"].contains(where: { name.uppercased().contains($0) }) {
                    #expect(env["value"] == nil, "\(file): \(name) has a literal value")
                    #expect(env[path: "valueFrom.secretKeyRef"] != nil, "\(file): \(name) is not read from a Secret")
                }
                if let value = env["value"] as? String { #expect(!Self.looksLikeCredentials(value), "\(file): \(name)") }
            }
            if let data = object["data"] as? [String: Any] {
                for (key, value) in data {
                    #expect(!key.uppercased().contains("PASSWORD"), "\(file): \(key)")
                    #expect(!Self.looksLikeCredentials("\(value)"), "\(file): \(key) carries a password")
                }
            }
        }
        #expect(referenced == ["vigil-database", "vigil-database-owner"])
        // The README tells operators how to create each referenced Secret.
        let readme = try DeployFiles.text("deploy/README.md")
        for name in referenced { #expect(readme.contains("create secret generic \(name)"), "deploy/README.md does not say how to create \(name)") }
    }

    /// A URL with user:password@, or a libpq password= keyword.
    static func looksLikeCredentials(_ text: String) -> Bool {
        text.range(of: #"://[^/@\s:]+:[^/@\s]+@"#, options: .regularExpression) != nil || text.contains("password=")
    }

    static func environmentEntries(_ object: [String: Any]) -> [[String: Any]] {
        let containers = (object[path: "spec.template.spec.containers"] as? [[String: Any]] ?? [])
            + (object[path: "spec.template.spec.initContainers"] as? [[String: Any]] ?? [])
        return containers.flatMap { $0["env"] as? [[String: Any]] ?? [] }
    }

    @Test func migrateJobRunsMigrateWithTheSameImage() throws {
        let job = try DeployFiles.kubernetesObject(kind: "Job", name: "vigil-migrate")
        let container = try Self.container(job, "migrate")
        #expect((container["args"] as? [String])?.first == "migrate")
        #expect(job[path: "spec.template.spec.restartPolicy"] as? String == "Never")
        let serving = try Self.container(try Self.deployment(), "vigil")
        #expect(container["image"] as? String == serving["image"] as? String)
        #expect((serving["args"] as? [String])?.first == "serve")
    }

    @Test func disruptionBudgetAndMetricsServiceSelectTheServingPods() throws {
        let labels = try Self.podLabels(try Self.deployment())
        let selector = try #require(try Self.deployment()[path: "spec.selector.matchLabels"] as? [String: String])
        #expect(Self.selects(selector, labels))
        let budget = try DeployFiles.kubernetesObject(kind: "PodDisruptionBudget", name: "vigil")
        #expect(Self.selects(try #require(budget[path: "spec.selector.matchLabels"] as? [String: String]), labels))
        #expect(budget[path: "spec.maxUnavailable"] as? Int == 1)
        let service = try DeployFiles.kubernetesObject(kind: "Service", name: "vigil-metrics")
        #expect(Self.selects(try #require(service[path: "spec.selector"] as? [String: String]), labels))
        let ports = try #require(service[path: "spec.ports"] as? [[String: Any]])
        #expect(ports.contains { $0["port"] as? Int == 9464 && $0["targetPort"] as? String == "metrics" })
        // The migrate Job's pods must not count as serving pods.
        let job = try DeployFiles.kubernetesObject(kind: "Job", name: "vigil-migrate")
        #expect(!Self.selects(selector, try Self.podLabels(job)))
    }

    @Test func podsRunUnprivileged() throws {
        for object in [try Self.deployment(), try DeployFiles.kubernetesObject(kind: "Job", name: "vigil-migrate")] {
            #expect(object[path: "spec.template.spec.securityContext.runAsNonRoot"] as? Bool == true)
            #expect(object[path: "spec.template.spec.automountServiceAccountToken"] as? Bool == false)
            for container in object[path: "spec.template.spec.containers"] as? [[String: Any]] ?? [] {
                let context = container["securityContext"] as? [String: Any] ?? [:]
                #expect(context["allowPrivilegeEscalation"] as? Bool == false)
                #expect(context["readOnlyRootFilesystem"] as? Bool == true)
            }
        }
    }

    @Test func configMapHoldsOnlyDocumentedVariables() throws {
        let documented = try DeployFiles.documentedEnvironmentVariables()
        let data = try #require(try DeployFiles.kubernetesObject(kind: "ConfigMap", name: "vigil")["data"] as? [String: Any])
        #expect(!data.isEmpty)
        for key in data.keys { #expect(documented.contains(key), "\(key) is not a documented vigil serve variable") }
        let deployment = try Self.deployment()
        let mounted = try #require(deployment[path: "spec.template.spec.volumes"] as? [[String: Any]])
        #expect(mounted.contains { ($0["configMap"] as? [String: Any])?["name"] as? String == "vigil-serve" })
        #expect((try Self.container(deployment, "vigil")["args"] as? [String]) == ["serve", "--config", "/etc/vigil/serve.json"])
    }

    @Test func kustomizationListsExistingFiles() throws {
        let kustomization = try DeployFiles.yamlMapping("deploy/k8s/kustomization.yaml")
        let resources = try #require(kustomization["resources"] as? [String])
        for resource in resources {
            #expect(FileManager.default.fileExists(atPath: DeployFiles.url("deploy/k8s/\(resource)").path), "\(resource)")
        }
        for required in ["deployment.yaml", "configmap.yaml", "service.yaml", "pdb.yaml"] { #expect(resources.contains(required)) }
    }
}
