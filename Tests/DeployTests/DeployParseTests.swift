// Every file the issue asks for is there, and every YAML and JSON file under deploy/ parses
// (including the JSON config embedded in the Kubernetes ConfigMap).
import Foundation
import Testing

@Suite struct DeployParseTests {
    static let required = [
        "deploy/README.md", "deploy/docker/Dockerfile", "deploy/compose/compose.yaml", "deploy/compose/prometheus.yml",
        "deploy/k8s/deployment.yaml", "deploy/k8s/configmap.yaml", "deploy/k8s/service.yaml", "deploy/k8s/pdb.yaml",
        "deploy/k8s/migrate-job.yaml", "deploy/k8s/kustomization.yaml", "deploy/systemd/vigil.service", "deploy/systemd/vigil.env",
        "deploy/prometheus/alerts.yml", "deploy/grafana/vigil.json",
    ]

    @Test func requiredFilesExist() {
        for path in Self.required {
            #expect(FileManager.default.fileExists(atPath: DeployFiles.url(path).path), "missing \(path)")
        }
    }

    @Test(arguments: DeployFiles.files(withExtensions: ["yaml", "yml"]))
    func yamlParses(_ path: String) throws {
        let documents = try DeployFiles.yamlDocuments(path)
        #expect(!documents.isEmpty, "\(path) holds no YAML document")
        for document in documents { #expect(document is [String: Any], "\(path): a top-level document is not a mapping") }
    }

    @Test(arguments: DeployFiles.files(withExtensions: ["json"]))
    func jsonParses(_ path: String) throws {
        #expect(try DeployFiles.json(path) is [String: Any])
    }

    @Test func yamlAndJSONFilesAreFound() {
        // The parameterised tests above must not pass by finding nothing.
        #expect(DeployFiles.files(withExtensions: ["yaml", "yml"]).count >= 10)
        #expect(DeployFiles.files(withExtensions: ["json"]).contains("deploy/grafana/vigil.json"))
    }

    @Test func brokenYAMLIsReported() throws {
        // The loader must surface parse errors (Yams keeps them inside its sequence), also
        // in a second document.
        #expect(throws: (any Error).self) { try DeployFiles.yamlDocuments(text: "a: [1, 2\nb: {", name: "bad.yaml") }
        #expect(throws: (any Error).self) { try DeployFiles.yamlDocuments(text: "a: 1\n---\nb: [\n", name: "bad.yaml") }
        #expect(try DeployFiles.yamlDocuments(text: "a: 1\n---\nb: 2\n", name: "good.yaml").count == 2)
    }

    @Test func embeddedServeConfigParses() throws {
        let config = try DeployFiles.kubernetesObject(kind: "ConfigMap", name: "vigil-serve")
        let text = try #require((config["data"] as? [String: Any])?["serve.json"] as? String)
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        #expect(object is [String: Any])
    }
}
