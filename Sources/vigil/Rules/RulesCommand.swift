// `vigil rules list | add | test | enable | disable | shadow | history` and the lists
// (`list-add`, `list-remove`, `list-show`): analysts' rules in PostgreSQL, changed through the
// functions of migration 0011 (so the analyst role can run every one of these), heard by
// running `vigil serve` instances at once (LISTEN/NOTIFY) and in force from their next batch.
import ArgumentParser
import Foundation
import VigilService

struct RulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Analysts' rules and lists: list, add, test on recorded data, enable, disable, shadow.",
        discussion: """
            A rule is an expression over the event's fields, the computed features (by their spec names, in raw \
            units), lists and the models' scores, with an outcome (block, review, allow) and a mode (enforce, \
            shadow, off); see docs/rules.md. Every change is a new version recorded with its author.
            Exit codes: 0 done, 64 a bad option, 65 refused (a rule that does not compile, an unknown rule, an invalid list), 69 database unreachable, 1 other errors.
            """,
        subcommands: [List.self, Add.self, Test.self, Enable.self, Disable.self, Shadow.self, History.self,
                      ListAdd.self, ListRemove.self, ListShow.self]
    )

    struct Connection: ParsableArguments {
        @Option(help: "PostgreSQL URL or libpq keywords, without password. Default: $VIGIL_DATABASE_URL, else libpq's PG* variables.")
        var databaseURL: String?
        @Option(help: "Schema holding Vigil's tables. Default: $VIGIL_SCHEMA, else vigil.")
        var schema: String?

        var schemaName: String {
            schema ?? ProcessInfo.processInfo.environment["VIGIL_SCHEMA"].flatMap { $0.isEmpty ? nil : $0 } ?? "vigil"
        }

        func store() throws -> RuleStore {
            try RulesSource.store(schema: schemaName, databaseURL: databaseURL, label: "vigil.rules")
        }
    }

    /// Runs `body` with a store on `connection`, closed afterwards (also when `body` throws),
    /// mapping errors to the documented exit codes.
    static func withStore(_ connection: Connection, _ body: (RuleStore) async throws -> Void) async throws {
        try await guarded {
            let store = try connection.store()
            do {
                try await body(store)
            } catch {
                await store.connection.close()
                throw error
            }
            await store.connection.close()
        }
    }

    /// Runs `body`, mapping errors to the documented exit codes.
    static func guarded(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as RuleError {
            FileHandle.standardError.write(Data("vigil rules: \(error)\n".utf8))
            throw ExitCode(65)
        } catch let error as ServiceError {
            FileHandle.standardError.write(Data("vigil rules: \(error.message)\n".utf8))
            throw ExitCode(65)
        } catch let error as PostgresError {
            FileHandle.standardError.write(Data("vigil rules: \(error.reason)\n".utf8))
            let refused = error.sqlState == "P0002" || error.sqlState == "22023" || error.sqlState == "23514"
            throw ExitCode(refused ? 65 : error.code == .connectionFailed || error.code == .connectionLost ? 69 : 1)
        }
    }

    /// The expression with a caret under the error's column, for a terminal.
    static func pointer(_ expression: String, _ error: RuleError) -> String {
        let lines = expression.split(separator: "\n", omittingEmptySubsequences: false)
        guard error.position.line - 1 < lines.count else { return "" }
        let line = lines[error.position.line - 1]
        return "  \(line)\n  \(String(repeating: " ", count: max(0, error.position.column - 1)))^\n"
    }

    /// Compiles `expression` against the stored lists (and the spec's names), or throws with a caret.
    static func check(_ expression: String, store: RuleStore, spec: String?) async throws {
        let vocabulary = RuleVocabulary(spec: try spec.map { try FeatureSpec.load(path: $0) })
        let lists = try await store.lists()
        do { try RuleSet.check(expression, lists: lists, vocabulary: vocabulary) } catch {
            FileHandle.standardError.write(Data(pointer(expression, error).utf8))
            throw error
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The rules (newest version of each) and the lists.")
        @OptionGroup var connection: Connection

        func run() async throws {
            try await RulesCommand.withStore(connection) { store in
                let formatter = ISO8601DateFormatter()
                print("name                      version  mode     outcome  author          saved                 expression")
                for r in try await store.currentRules() {
                    print([r.rule.name.padded(25), String(r.rule.version).padded(8), r.rule.mode.rawValue.padded(8),
                           r.rule.outcome.rawValue.padded(8), r.author.padded(15), formatter.string(from: r.createdAt).padded(21),
                           r.rule.expression.replacingOccurrences(of: "\n", with: " ")].joined(separator: " "))
                }
                let lists = try await store.lists()
                if !lists.isEmpty {
                    print("\nlists: " + lists.names.map { "\($0) (\(lists.values(of: $0)?.count ?? 0))" }.joined(separator: ", "))
                }
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Save a rule (a new version when NAME exists). The expression is compiled first: an error is shown with its position and nothing is saved.")
        @OptionGroup var connection: Connection
        @Argument(help: "The rule's name (letters, digits, _, - and ., up to 64); shown in reasons as rule.NAME.") var name: String
        @Argument(help: "The expression, e.g. \"amount > 500 and card.new_country == 1\".") var expression: String
        @Option(help: "block, review or allow.") var outcome: String
        @Option(help: "enforce, shadow or off.") var mode = "enforce"
        @Option(help: "Why the rule exists.") var description: String?
        @Option(help: "A feature spec JSON whose custom dense-feature names the rule may use (serve's feature_spec).") var featureSpec: String?

        func validate() throws {
            guard Rule.isValidName(name) else { throw ValidationError("a rule name is 1 to 64 letters, digits, _, - or .") }
            guard DecisionOutcome(rawValue: outcome) != nil else { throw ValidationError("--outcome must be block, review or allow") }
            guard RuleMode(rawValue: mode) != nil else { throw ValidationError("--mode must be enforce, shadow or off") }
        }

        func run() async throws {
            try await RulesCommand.withStore(connection) { store in
                try await RulesCommand.check(expression, store: store, spec: featureSpec)
                let version = try await store.save(Rule(name: name, expression: expression, outcome: DecisionOutcome(rawValue: outcome)!,
                                                        mode: RuleMode(rawValue: mode)!), description: description)
                print("saved rule \(name) version \(version) (\(mode), \(outcome))")
            }
        }
    }

    /// `enable`, `disable`, `shadow`: a new version of the rule with another mode.
    static func setMode(_ name: String, _ mode: RuleMode, connection: Connection) async throws {
        try await withStore(connection) { store in
            if mode != .off {
                // A rule switched off may name a list deleted since: it must compile before it acts again.
                guard let current = try await store.currentRules().first(where: { $0.rule.name == name }) else {
                    throw ServiceError(.invalidConfiguration, "no rule named \(name)")
                }
                try await check(current.rule.expression, store: store, spec: nil)
            }
            let version = try await store.setMode(name, mode)
            print("rule \(name) is now \(mode.rawValue) (version \(version))")
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enforce a rule: its fires decide.")
        @OptionGroup var connection: Connection
        @Argument var name: String
        func run() async throws { try await RulesCommand.setMode(name, .enforce, connection: connection) }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Switch a rule off (kept, with its history).")
        @OptionGroup var connection: Connection
        @Argument var name: String
        func run() async throws { try await RulesCommand.setMode(name, .off, connection: connection) }
    }

    struct Shadow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a rule in shadow: evaluated, counted and recorded as a shadow reason; decides nothing.")
        @OptionGroup var connection: Connection
        @Argument var name: String
        func run() async throws { try await RulesCommand.setMode(name, .shadow, connection: connection) }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every version of a rule (or of all rules), with who saved it and when.")
        @OptionGroup var connection: Connection
        @Argument var name: String?

        func run() async throws {
            try await RulesCommand.withStore(connection) { store in
                let formatter = ISO8601DateFormatter()
                for r in try await store.history(of: name) {
                    print("\(r.rule.name) v\(r.rule.version) \(r.rule.mode.rawValue) \(r.rule.outcome.rawValue) by \(r.author) at \(formatter.string(from: r.createdAt)): \(r.rule.expression)")
                }
            }
        }
    }

    struct ListAdd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list-add", abstract: "Add values to a list (created when missing).")
        @OptionGroup var connection: Connection
        @Argument(help: "The list's name, e.g. blocked_cards.") var list: String
        @Argument(help: "Values to add.") var values: [String] = []
        @Option(help: "Why (kept with each value).") var note: String?

        func run() async throws {
            try await RulesCommand.withStore(connection) { store in
                let added = try await store.add(values, toList: list, note: note)
                print("added \(added) of \(values.count) values to \(list)")
            }
        }
    }

    struct ListRemove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list-remove", abstract: "Remove values from a list.")
        @OptionGroup var connection: Connection
        @Argument var list: String
        @Argument var values: [String]
        @Option(help: "Why (kept in the list's history).") var note: String?

        func run() async throws {
            try await RulesCommand.withStore(connection) { store in
                let removed = try await store.remove(values, fromList: list, note: note)
                print("removed \(removed) of \(values.count) values from \(list)")
            }
        }
    }

    struct ListShow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list-show", abstract: "A list's values with who added each and when.")
        @OptionGroup var connection: Connection
        @Argument var list: String

        func run() async throws {
            try await RulesCommand.withStore(connection) { store in
                let formatter = ISO8601DateFormatter()
                for e in try await store.entries(ofList: list) {
                    print("\(e.value)\t\(e.addedBy)\t\(formatter.string(from: e.addedAt))")
                }
            }
        }
    }
}

extension String {
    /// Left-aligned in a column of `width` characters (never cut).
    fileprivate func padded(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
