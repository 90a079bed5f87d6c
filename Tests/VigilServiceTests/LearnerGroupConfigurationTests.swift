// The `learner` settings of `vigil serve`: file, environment, validation.
import Foundation
import Testing
@testable import VigilService

@Suite struct LearnerGroupConfigurationTests {
    @Test func fileAndEnvironmentSetTheTopicTTLAndCompression() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-learner-\(UUID().uuidString).json")
        try Data(#"{"learner": {"training_topic": "from-file", "lease_ttl_ms": 9000, "compression": "zstd"}}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let fromFile = try ServeConfiguration.load(file: file.path, environment: [:])
        #expect(fromFile.learner.trainingTopic == "from-file")
        #expect(fromFile.learner.leaseTTL == .seconds(9))
        #expect(fromFile.learner.renewInterval == .seconds(3))
        #expect(fromFile.learner.compression == "zstd")
        let fromEnvironment = try ServeConfiguration.load(file: file.path, environment: ["VIGIL_TRAINING_TOPIC": "from-env"])
        #expect(fromEnvironment.learner.trainingTopic == "from-env")
        #expect(ServeConfiguration().learner.trainingTopic == "vigil-training")
    }

    @Test func outOfRangeSettingsAreRefused() {
        var c = LearnerGroupConfiguration()
        c.leaseTTL = .milliseconds(100)
        #expect(throws: ServiceError.self) { try c.validate() }
        c = LearnerGroupConfiguration()
        c.compression = "brotli"
        #expect(throws: ServiceError.self) { try c.validate() }
        c = LearnerGroupConfiguration()
        c.trainingTopic = ""
        #expect(throws: ServiceError.self) { try c.validate() }
        #expect(throws: Never.self) { try LearnerGroupConfiguration().validate() }
    }
}
