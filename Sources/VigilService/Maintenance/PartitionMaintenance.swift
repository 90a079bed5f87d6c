// A Service that keeps the daily `decisions` partitions ahead of the stream: at start and
// every `partitionMaintenanceInterval` it calls create_decision_partitions(days ahead, from
// yesterday), which also moves rows a late partition's day already left in decisions_default
// (migration 0006). Retention (drop_decision_partitions) stays the operator's call. A failure
// is logged and tried again a minute later; it never stops the service.
import ServiceLifecycle
import VigilPostgres

struct PartitionMaintenance: Service {
    let runtime: PipelineRuntime

    func run() async throws {
        try await work()
        // Never return before this service's own shutdown (see PipelineRuntime.idle).
        try? await gracefulShutdown()
    }

    private func work() async throws {
        let r = runtime, c = r.configuration
        let connection = PostgresConnection(configuration: try c.postgresConfiguration(suffix: "-maintenance"), label: "vigil.serve.maintenance")
        var wait = Duration.zero
        while await r.idle(wait) {
            do {
                let created = try await Self.createPartitions(connection, schema: c.schema, daysAhead: c.partitionDaysAhead)
                r.telemetry.decisionPartitionsCreated(created)
                r.log.info("decisions partitions maintained", ["created": .int(Int64(created)), "days_ahead": .int(Int64(c.partitionDaysAhead))])
                wait = c.partitionMaintenanceInterval
            } catch {
                r.log.warning("decisions partition maintenance failed; trying again in a minute", ["error": .string("\(error)")])
                wait = min(.seconds(60), c.partitionMaintenanceInterval)
            }
        }
        await connection.close()
    }

    /// Partitions from yesterday (UTC; late events) through `daysAhead` days from today.
    static func createPartitions(_ connection: PostgresConnection, schema: String, daysAhead: Int) async throws -> Int {
        let statements = VigilSchema(schema)
        return try await connection.withSession { try statements.createDecisionPartitions(days: daysAhead + 1, on: $0) }
    }
}
