// `vigil rules test`: a rule tried on recorded traffic before it is saved. The file is replayed
// through the engine (the same scorer, learner and policy as `vigil replay`), and every event
// is decided twice on the same scores: with the rules in force, and with them plus the rule
// under test (replacing the stored rule of the same name, to test an edit). Prints the rule's
// hits, precision and recall against the known fraud, and the decisions it would change.
import ArgumentParser
import Foundation
import VigilService
import VigilReplay

extension RulesCommand {
    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay a recorded file with a rule added to those in force: its hits, precision, recall and the decisions it changes.")
        @Argument(help: "The expression under test.") var expression: String
        @Argument(help: "Events file: JSONL (the event contract) or CSV.") var input: String
        @Option(help: "block, review or allow.") var outcome = "review"
        @Option(help: "The rule's name (a stored rule of that name is replaced by this one in the test).") var name = "candidate"
        @Option(help: "The rules in force to compare with: 'db' (the stored rules; VIGIL_DATABASE_URL), a rules JSON file, or 'none'.") var baseline = "db"
        @Option(help: "Labels file (vigil gen's labels.jsonl or labels.csv); known fraud also comes from the events' own labels.") var labels: String?
        @Option(help: "Input format: jsonl or csv (default: from the extension).") var format: String?
        @Option(help: "CSV column mapping (as vigil replay's --columns).") var columns: String?
        @Option(help: "Start from this saved model set instead of a cold start.") var model: String?
        @Option(help: "Label delay: N events, a duration of event time (72h) or 'recorded'.") var labelDelay = "1000"
        @Option(help: "Cold start: leading events the first model learns from (scored, not evaluated).") var warmUp = 2048
        @Option(help: "Seed of the models and the trainer.") var seed: UInt64 = 1
        @Option(help: "Schema of the stored rules for --baseline db.") var schema = "vigil"
        @Option(help: "PostgreSQL URL for --baseline db. Default: $VIGIL_DATABASE_URL, else libpq's PG* variables.") var databaseURL: String?

        func validate() throws {
            guard Rule.isValidName(name) else { throw ValidationError("--name: 1 to 64 letters, digits, _, - or .") }
            guard DecisionOutcome(rawValue: outcome) != nil else { throw ValidationError("--outcome must be block, review or allow") }
            guard LabelDelay.parse(labelDelay) != nil else { throw ValidationError("--label-delay must be N events, a duration like 72h, or 'recorded'") }
            if let format, ReplayInputReader.Format(rawValue: format) == nil { throw ValidationError("--format must be jsonl or csv") }
            guard warmUp >= 64 else { throw ValidationError("--warm-up must be at least 64") }
        }

        func run() async throws {
            try await RulesCommand.guarded {
                let inForce: RuleFile = baseline == "none" ? RuleFile(rules: []) : try await RulesSource.load(baseline, schema: schema, databaseURL: databaseURL)
                let candidate = Rule(name: name, expression: expression, outcome: DecisionOutcome(rawValue: outcome)!, mode: .enforce)
                do throws(RuleError) { try RuleSet.check(expression, lists: inForce.lists) } catch {
                    FileHandle.standardError.write(Data(RulesCommand.pointer(expression, error).utf8))
                    throw error
                }
                var reader = ReplayInputReader(mapping: try columns.map { try CSVColumnMapping.parse($0) } ?? CSVColumnMapping(), onMalformed: .skip)
                reader.defaultCurrency = "EUR"
                var data = try reader.read(events: input, format: format.flatMap(ReplayInputReader.Format.init(rawValue:)), labels: labels)
                data.resolveTruthFromLabels()

                var c = ReplayConfiguration()
                c.name = "rules-test"
                c.labelDelay = LabelDelay.parse(labelDelay)!
                c.warmUpEvents = warmUp
                c.seed = seed
                c.featureSpec = ReplayConfiguration.spec(for: data)
                if let model {
                    guard let bytes = FileManager.default.contents(atPath: model) else { throw ValidationError("cannot read the model file \(model)") }
                    c.initialModel = [UInt8](bytes)
                }
                c.baselineRules = inForce.rules
                c.rules = inForce.rules.filter { $0.name != name } + [candidate]
                c.ruleLists = inForce.lists
                let result = try ReplayRunner.run(data, configuration: c)
                report(result.metrics, baselineCount: inForce.rules.count)
            }
        }

        func report(_ m: ReplayMetrics, baselineCount: Int) {
            func share(_ x: Double?) -> String { x.map { String(format: "%.4f", $0) } ?? "n/a" }
            print("\(m.evaluatedEvents) events evaluated (\(m.frauds) known fraud), against \(baselineCount) rules in force (\(baseline))")
            if let r = m.rules?.first(where: { $0.name == name }) {
                print("rule \(name) (\(outcome)): \(r.hits) hits — \(r.fraudHits) fraud, \(r.legitHits) legitimate, \(r.unknownHits) unknown; precision \(share(r.precision)), recall \(share(r.recall))")
            }
            if let changes = m.ruleChanges {
                let detail = changes.byChange.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                print("decisions changed vs the rules in force: \(changes.changed)\(detail.isEmpty ? "" : " (\(detail))")")
                print("  newly alerted: \(changes.fraudNewlyAlerted) fraud, \(changes.legitNewlyAlerted) legitimate; no longer alerted: \(changes.fraudNoLongerAlerted) fraud, \(changes.legitNoLongerAlerted) legitimate")
            }
            let json: [String: Any] = [
                "rule": name, "events": m.evaluatedEvents, "frauds": m.frauds,
                "hits": m.rules?.first(where: { $0.name == name })?.hits ?? 0,
                "precision": m.rules?.first(where: { $0.name == name })?.precision ?? NSNull(),
                "recall": m.rules?.first(where: { $0.name == name })?.recall ?? NSNull(),
                "changed": m.ruleChanges?.changed ?? 0,
            ]
            if let data = try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]) { print(String(decoding: data, as: UTF8.self)) }
        }
    }
}
