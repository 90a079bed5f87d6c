// A Service that keeps serve's rule set in step with `vigil.rules` and the rule lists: it
// LISTENs on "<schema>_rules" (the change functions notify it), and on a notification, or
// every `rulePollInterval` in case one was missed while the connection was down, it reloads
// and compiles the stored rules and publishes the new set into the RuleBook, which the batch
// loop reads between batches. A set that does not compile is refused: logged, counted in
// vigil_rule_set_refusals_total, and the set in force stays. It never stops the service.
import ServiceLifecycle
import VigilEngine
import VigilPostgres

struct RuleFollower: Service {
    let runtime: PipelineRuntime
    /// Reload even without a notification this often. Default: 30 s.
    var pollInterval: Duration = .seconds(30)

    func run() async throws {
        let r = runtime, c = r.configuration
        let connection = PostgresConnection(configuration: try c.postgresConfiguration(suffix: "-rules"), label: "vigil.serve.rules")
        let store = RuleStore(connection: connection, schema: c.schema)
        var listening = false
        var lastLoad = ContinuousClock.now
        while !(Task.isShuttingDownGracefully || Task.isCancelled) {
            do {
                if !listening {
                    try await connection.listen(store.channel)
                    listening = true
                    // Changes made while not listening were not heard: load once now.
                    await Self.reload(r, store, reason: "listening")
                    lastLoad = .now
                }
                var changed = try await connection.nextNotification(timeout: .milliseconds(250)) != nil
                // Several changes in a row are one reload.
                while changed, try await connection.nextNotification(timeout: .milliseconds(20)) != nil {}
                if !changed, ContinuousClock.now - lastLoad >= pollInterval { changed = true }
                if changed {
                    await Self.reload(r, store, reason: "changed")
                    lastLoad = .now
                }
            } catch {
                listening = false
                r.log.warning("rule change listener failed; listening again", ["error": .string("\(error)")])
                guard await r.idle(.seconds(1)) else { break }
            }
        }
        await connection.close()
        // Never return before this service's own shutdown (see PipelineRuntime.idle).
        try? await gracefulShutdown()
    }

    /// Loads, compiles and publishes the stored rules; keeps the current set when they do not compile.
    static func reload(_ r: PipelineRuntime, _ store: RuleStore, reason: String) async {
        do {
            let set = try await store.ruleSet(policy: r.rules.policy, vocabulary: r.rules.vocabulary)
            let current = r.rules.book.current
            guard set.rules != current.rules || set.lists != current.lists else { return }
            r.rules.adopt(set)
            r.log.info("rule set changed: deciding with it from the next batch",
                       ["rules": .int(Int64(set.rules.count)), "active": .int(Int64(set.activeCount)), "cause": .string(reason)])
        } catch let error as RuleError {
            r.rules.refused()
            r.log.error("refused the stored rule set: a rule does not compile; the rule set in force stays",
                        ["error": .string(error.description)])
        } catch {
            r.log.warning("loading the stored rules failed; the rule set in force stays", ["error": .string("\(error)")])
        }
    }

    /// The rule set at start, before the first batch: the stored rules that compile (each one
    /// that does not is logged and counted, so a bad row cannot take every rule down with it).
    static func initialLoad(_ r: PipelineRuntime, _ store: RuleStore) async throws {
        let stored: [Rule], lists: RuleLists
        do {
            stored = try await r.retryingDatabase("load rules", { try await store.currentRules().map(\.rule).filter { $0.mode != .off } })
            lists = try await r.retryingDatabase("load rule lists", { try await store.lists() })
        } catch let error as PostgresError where error.sqlState == "42P01" {
            r.log.warning("no rules table in the schema (run vigil migrate); deciding with the configuration file's rules only")
            return
        }
        var usable: [Rule] = []
        for rule in stored {
            do {
                _ = try r.rules.policy.ruleSet(adding: usable + [rule], lists: lists, vocabulary: r.rules.vocabulary)
                usable.append(rule)
            } catch {
                r.rules.refused()
                r.log.error("a stored rule does not compile; starting without it", ["rule": .string(rule.name), "error": .string("\(error)")])
            }
        }
        let set = try r.rules.policy.ruleSet(adding: usable, lists: lists, vocabulary: r.rules.vocabulary)
        r.rules.adopt(set)
        r.log.info("loaded the stored rules", ["rules": .int(Int64(set.rules.count)), "active": .int(Int64(set.activeCount))])
    }
}
