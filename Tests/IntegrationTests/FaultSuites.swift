// The suites of issue 16's faults (unstorable input, model safety, offset anomalies,
// database faults, memory bounds, partition maintenance, a stalled member) run one after
// another: each runs `vigil serve` pipelines or child processes, several freeze or kill
// something, and run together beside the rest of the integration tests they loaded the
// machine (and the shared broker's group coordinator) enough to stall other suites' groups.
import Testing

@Suite(.serialized) enum FaultSuites {}
