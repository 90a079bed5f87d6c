// `vigil models list | promote VERSION | rollback | prune --keep N | compress VERSION`: the model registry in PostgreSQL.
// Running `vigil serve` instances pick a change up between batches (polling the live version).
import ArgumentParser
import Foundation
import VigilService

struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List model versions, promote one, roll back to the previous live version, or store a compressed form of one.",
        discussion: "Exit codes: 0 done, 65 refused (unknown or unusable version, nothing to roll back to), 69 database unreachable, 1 other errors.",
        subcommands: [List.self, Promote.self, Rollback.self, Prune.self, Compress.self]
    )

    struct Connection: ParsableArguments {
        @Option(help: "PostgreSQL URL or libpq keywords, without password. Default: $VIGIL_DATABASE_URL, else libpq's PG* variables.")
        var databaseURL: String?
        @Option(help: "Schema holding Vigil's tables. Default: $VIGIL_SCHEMA, else vigil.")
        var schema: String?

        func catalog() throws -> ModelCatalog {
            let environment = ProcessInfo.processInfo.environment
            let configuration = try databaseURL.map(PostgresConfiguration.init(url:)) ?? PostgresConfiguration.fromEnvironment(environment)
            let schema = schema ?? environment["VIGIL_SCHEMA"].flatMap { $0.isEmpty ? nil : $0 } ?? "vigil"
            return ModelCatalog(connection: PostgresConnection(configuration: configuration, label: "vigil.models"), schema: schema)
        }
    }

    /// Runs `body`, mapping errors to the documented exit codes.
    static func guarded(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as ServiceError {
            FileHandle.standardError.write(Data("vigil models: \(error.explanation)\n".utf8))
            throw ExitCode(65)
        } catch let error as PostgresError {
            FileHandle.standardError.write(Data("vigil models: \(error.reason)\n".utf8))
            throw ExitCode(error.code == .connectionFailed || error.code == .connectionLost ? 69 : 1)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List model versions, oldest first; * marks the live one.")
        @OptionGroup var connection: Connection

        func run() async throws {
            try await ModelsCommand.guarded {
                let catalog = try connection.catalog()
                let formatter = ISO8601DateFormatter()
                print("  version  parent  created               promoted              retired               checksum      note")
                for m in try await catalog.list() {
                    let cells = [m.isLive ? "*" : " ", String(m.version).padding(8), (m.parent.map(String.init) ?? "-").padding(6),
                                 formatter.string(from: m.createdAt).padding(20), (m.promotedAt.map(formatter.string) ?? "-").padding(20),
                                 (m.retiredAt.map(formatter.string) ?? "-").padding(20), String(m.checksum.prefix(12)).padding(12),
                                 (m.note ?? "") + (m.weightsPrunedAt == nil ? "" : " [weights pruned]")]
                    print(cells.joined(separator: " "))
                }
                await catalog.connection.close()
            }
        }
    }

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make VERSION the live model version.",
            discussion: """
                The stored set is checked first: its weights must decode, match their checksum and version, and be
                trained on the feature spec of the live version (and of --feature-spec FILE when given). Otherwise
                nothing changes and the command exits 65 saying why.
                """)
        @OptionGroup var connection: Connection
        @Argument(help: "The version to make live.") var version: Int64
        @Option(help: "A feature spec JSON file (serve's feature_spec) the version must have been trained on.") var featureSpec: String?

        func run() async throws {
            try await ModelsCommand.guarded {
                let catalog = try connection.catalog()
                let spec: FeatureSpec?
                do { spec = try featureSpec.map { try FeatureSpec.load(path: $0) } } catch {
                    throw ServiceError(.invalidConfiguration, "feature spec \(featureSpec ?? ""): \(error)")
                }
                let previous = try await catalog.promote(version, checked: true, spec: spec)
                print("live version: \(version) (was \(previous.map(String.init) ?? "none"))")
                await catalog.connection.close()
            }
        }
    }

    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make the previously live version live again.")
        @OptionGroup var connection: Connection

        func run() async throws {
            try await ModelsCommand.guarded {
                let catalog = try connection.catalog()
                let version = try await catalog.rollback()
                print("live version: \(version)")
                await catalog.connection.close()
            }
        }
    }
}

extension ModelsCommand {
    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drop the weights of all but the newest KEEP versions (and the live one); their rows stay.",
            discussion: """
                Serve's learner does this after every publication (model_retention_versions). Pruned versions keep
                their lineage, metrics and checksum for the audit trail, and can no longer be promoted or rolled back to.
                """)
        @OptionGroup var connection: Connection
        @Option(help: "How many of the newest versions keep their weights (at least 1).") var keep: Int

        func run() async throws {
            try await ModelsCommand.guarded {
                let catalog = try connection.catalog()
                let pruned = try await catalog.pruneWeights(keeping: keep)
                print("pruned the weights of \(pruned) version(s); the newest \(keep) and the live one keep theirs")
                await catalog.connection.close()
            }
        }
    }
}

private extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
