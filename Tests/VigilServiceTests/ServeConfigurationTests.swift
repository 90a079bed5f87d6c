// Settings layering and validation of `vigil serve`.
import Foundation
import Testing
@testable import VigilService

@Suite struct ServeConfigurationTests {
    @Test func environmentOverridesTheFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-serve-\(UUID().uuidString).json")
        try Data(#"{"brokers": "a:1, b:2", "topic": "from-file", "group": "g1", "batch_size": 123, "review_threshold": 0.6}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let c = try ServeConfiguration.load(file: file.path, environment: ["VIGIL_TOPIC": "from-env", "VIGIL_GROUP": ""])
        #expect(c.brokers == ["a:1", "b:2"])
        #expect(c.topic == "from-env")
        #expect(c.groupID == "g1")
        #expect(c.batchSize == 123)
        #expect(c.decisionPolicy.reviewThreshold == 0.6)
        try c.validate()
    }

    @Test func trainingSettingsComeFromTheFileAndAreValidated() throws {
        #expect(ServeConfiguration().training)  // on by default
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-serve-\(UUID().uuidString).json")
        try Data(#"{"brokers": "a:1", "training": false, "training_publish_interval_ms": 1500, "training_min_labels": 40, "training_publish_every_labels": 80, "training_min_publish_gap_ms": 250, "training_guard_window": 900, "training_guard_min_frauds": 7, "training_labels_per_step": 4, "training_frauds_per_step": 0, "training_publish_min_labels": 32}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        var c = try ServeConfiguration.load(file: file.path, environment: [:])
        #expect(!c.training)
        #expect(c.trainer.publishInterval == .milliseconds(1500))
        #expect(c.trainer.minimumLabels == 40)
        #expect(c.trainer.publishEveryLabels == 80)
        #expect(c.trainer.minimumPublishGap == .milliseconds(250))
        #expect(c.trainer.guardWindow == 900 && c.trainer.guardMinimumFrauds == 7)
        #expect(c.trainer.labelsPerStep == 4 && c.trainer.fraudsPerStep == 0 && c.trainer.publishMinimumLabels == 32)
        c.trainer.publishEveryLabels = 0
        try c.validate()  // training off: its settings do not matter
        c.training = true
        #expect(throws: ServiceError.self) { try c.validate() }
    }

    @Test func badFilesAndSettingsAreRefusedWithTheirName() throws {
        #expect(throws: ServiceError.self) { try ServeConfiguration.load(file: "/nonexistent/vigil.json", environment: [:]) }
        var c = ServeConfiguration()
        #expect(throws: ServiceError.self) { try c.validate() }  // no brokers
        c.brokers = ["x:1"]
        try c.validate()
        c.batchSize = 0
        #expect(throws: ServiceError.self) { try c.validate() }
        c.batchSize = 10
        c.databaseURL = "postgresql://u:secret@h/db"
        #expect(throws: ServiceError.self) { try c.validate() }
        c.databaseURL = "postgresql://u@h/db"
        c.decisionPolicy.reviewThreshold = 0.95
        #expect(throws: ServiceError.self) { try c.validate() }
    }

    @Test func durations() {
        #expect(ServeConfiguration.parseDuration("500ms") == .milliseconds(500))
        #expect(ServeConfiguration.parseDuration("5s") == .seconds(5))
        #expect(ServeConfiguration.parseDuration("2m") == .seconds(120))
        #expect(ServeConfiguration.parseDuration("1.5") == .milliseconds(1500))
        #expect(ServeConfiguration.parseDuration("-1s") == nil)
        #expect(ServeConfiguration.parseDuration("soon") == nil)
    }

    @Test func reasonsAreValidJSONEvenWithQuotesInNames() throws {
        let reasons = VigilEngineReasons.sample()
        let text = ReasonText.canonicalJSON(reasons)
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]
        #expect(parsed?.count == 2)
        #expect(parsed?.first?["name"] as? String == "rule.\"odd\"\nname")
    }
}
