// The `vigil` command: one entry point with a subcommand per job.
import ArgumentParser
import VigilService

@main
struct Vigil: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "Streaming fraud detection: Kafka in, scored decisions and an audit trail in PostgreSQL.",
        discussion: """
            Settings come from a config file and VIGIL_... environment variables, with flags on top.
            See README.md for the local stack (tools/demo) and the tests (tools/test).
            """,
        version: VigilVersion.current,
        subcommands: [MigrateCommand.self, GenCommand.self, ServeCommand.self, ScoreCommand.self, ModelsCommand.self, RulesCommand.self, ReplayCommand.self, AuditCommand.self]
    )

    /// ArgumentParser's own entry point, after OpenBLAS is configured while the process still
    /// has one thread (a kernel correction sets OPENBLAS_CORETYPE; see `BLAS.configure`).
    static func main() async {
        BLAS.configure()
        await main(nil)
    }
}
