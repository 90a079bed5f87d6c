// Registry retention on the real database: prune_model_weights drops the weights of all but the
// newest versions and the live one, keeps every row, and a pruned version is refused (load,
// promote, rollback) with the reason; the analyst role still sees the row in model_history.
import Foundation
import Testing
import VigilEngine
import VigilFeatures
import VigilKafka
import VigilPostgres
import VigilService

@Suite struct ModelRetentionTests {
    @Test func pruningKeepsTheNewestAndTheLiveVersionAndEveryRow() async throws {
        let target = try ServeTestSupport.migratedSchema()
        defer { ServeTestSupport.drop(target) }
        let messages = ServeTestSupport.simulatedMessages(600, topic: "retention")
        let events = FaultSuites.ServeModelSafetyTests.events(messages[...])
        let base = try ColdStart.train(events: events, spec: ServeTestSupport.spec, state: ServeTestSupport.state)
        let connection = PostgresConnection(configuration: try PostgresTestDatabase.configuration())
        defer { Task { await connection.close() } }
        let catalog = ModelCatalog(connection: connection, schema: target.schema)
        let store = ModelStore(connection: connection, schema: target.schema)
        for version in Int64(1)...6 {
            try await catalog.store(try base.renumbered(version: version, parent: version == 1 ? nil : version - 1), note: "v\(version)")
        }
        try await catalog.promote(2)

        #expect(try await catalog.pruneWeights(keeping: 3) == 2)  // 1 and 3: 2 is live, 4…6 are the newest
        let listed = try await catalog.list()
        #expect(listed.map(\.version) == [1, 2, 3, 4, 5, 6])
        #expect(listed.filter { $0.weightsPrunedAt != nil }.map(\.version) == [1, 3])
        #expect(try await catalog.pruneWeights(keeping: 3) == 0)

        #expect(try await store.load(version: 2)?.version == 2)
        #expect(try await store.load(version: 4)?.version == 4)
        await #expect(throws: ServiceError.self) { try await store.load(version: 3) }
        do {
            _ = try await catalog.promote(1, checked: true)
            Issue.record("a pruned version was promoted")
        } catch let error as ServiceError {
            #expect(error.code == .modelUnavailable && error.message.contains("pruned"), "\(error.message)")
        }
        #expect(try await store.liveVersion() == 2)
        await #expect(throws: ServiceError.self) { try await catalog.pruneWeights(keeping: 0) }

        let s = quoteIdentifier(target.schema)
        #expect(try ServeTestSupport.scalar("SELECT count(*) FROM \(s).model_history WHERE weight_bytes IS NULL") == 2)
        #expect(try ServeTestSupport.scalar("SELECT count(*) FROM \(s).models WHERE checksum <> '' AND metrics IS NOT NULL") == 6)
    }
}
