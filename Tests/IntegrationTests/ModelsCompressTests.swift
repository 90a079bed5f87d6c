// `vigil models compress` (the CLI, as a child process) on the real database: a version the
// promotion guard rejects is not stored (exit 65, saying why) unless --override-guard, and a
// version it passes is stored with the verdict in its metrics.
import Foundation
import Testing
import VigilEngine
import VigilFeatures
import VigilPostgres
import VigilService

@Suite struct ModelsCompressTests {
    @Test func theGuardDecidesWhatCompressStores() async throws {
        let target = try ServeTestSupport.migratedSchema()
        defer { ServeTestSupport.drop(target) }
        let messages = ServeTestSupport.simulatedMessages(2_500, topic: "unused")
        #expect(try await ServeTestSupport.seedModel(target, events: messages) == 1)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-compress-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let events = folder.appendingPathComponent("events.jsonl"), spec = folder.appendingPathComponent("spec.json")
        try Data(messages.map { String(decoding: $0.value, as: UTF8.self) + "\n" }.joined().utf8).write(to: events)
        try JSONEncoder().encode(ServeTestSupport.spec).write(to: spec)
        let common = ["--data", events.path, "--spec", spec.path, "--calibration-events", "512"]
        let stored = "SELECT count(*) FROM \(quoteIdentifier(target.schema)).models"

        // The seeded version's classifier has not learnt and the file has no labels: nothing
        // but reconstruction error to judge by, which cannot judge a student's classifier.
        let student = try FaultSuites.ServeModelSafetyTests.cli(["compress", "1", "--distil"] + common, schema: target.schema)
        #expect(student.status == 65, "\(student.stdout)\(student.stderr)")
        #expect(student.stderr.contains("not stored") && student.stderr.contains("no evidence") && student.stderr.contains("--override-guard"),
                "\(student.stderr)")
        #expect(try ServeTestSupport.scalar(stored) == 1)

        let overridden = try FaultSuites.ServeModelSafetyTests.cli(["compress", "1", "--distil", "--override-guard"] + common, schema: target.schema)
        #expect(overridden.status == 0, "\(overridden.stderr)")
        #expect(overridden.stdout.contains("stored version 2") && overridden.stdout.contains("stored by --override-guard"), "\(overridden.stdout)")
        #expect(try ServeTestSupport.scalar(stored) == 2)
        #expect(try ServeTestSupport.scalar("""
            SELECT count(*) FROM \(quoteIdentifier(target.schema)).models
            WHERE version = 2 AND (metrics->'compression'->'guard'->>'overridden')::boolean
            """) == 1)

        // INT8 changes the autoencoder, which reconstruction error does judge: stored with its verdict.
        let int8 = try FaultSuites.ServeModelSafetyTests.cli(["compress", "1", "--int8"] + common, schema: target.schema)
        #expect(int8.status == 0, "\(int8.stderr)")
        #expect(int8.stdout.contains("guard: promote by reconstruction_error"), "\(int8.stdout)")
        #expect(try ServeTestSupport.scalar("""
            SELECT count(*) FROM \(quoteIdentifier(target.schema)).models
            WHERE version = 3 AND (metrics->'compression'->'guard'->>'promote')::boolean
              AND NOT (metrics->'compression'->'guard'->>'overridden')::boolean
            """) == 1)
        // And it is promoted like any other version.
        let promote = try FaultSuites.ServeModelSafetyTests.cli(["promote", "3"], schema: target.schema)
        #expect(promote.status == 0, "\(promote.stderr)")
    }
}
