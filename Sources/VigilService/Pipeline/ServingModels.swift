// What the services of one `vigil serve` share about models: the registry the scorer reads
// (set once the batch loop has loaded or cold-started a model set) and the online trainer the
// batch loop hands scored batches to (set once learning has started).
import Synchronization
import VigilEngine

public final class ServingModels: Sendable {
    private struct State {
        var registry: ModelRegistry?
        var trainer: OnlineTrainer?
        /// Live versions found unusable here (counted and logged once each).
        var refused: Set<Int64> = []
    }

    private let state = Mutex(State())

    public init() {}

    /// The registry the scorer reads; nil before the first model set.
    public var registry: ModelRegistry? { state.withLock { $0.registry } }
    public var trainer: OnlineTrainer? { state.withLock { $0.trainer } }

    func serve(_ registry: ModelRegistry) { state.withLock { $0.registry = registry } }
    func learn(with trainer: OnlineTrainer?) { state.withLock { $0.trainer = trainer } }

    /// Remembers that `version` cannot be used here; true the first time.
    func refuse(_ version: Int64) -> Bool { state.withLock { $0.refused.insert(version).inserted } }
    func isRefused(_ version: Int64) -> Bool { state.withLock { $0.refused.contains(version) } }

    /// Waits for the registry (checking every `tick`), or nil when `stop` says so first.
    func waitForRegistry(tick: Duration = .milliseconds(100), stop: @Sendable () -> Bool) async -> ModelRegistry? {
        while !stop() {
            if let registry { return registry }
            try? await Task.sleep(for: tick)
        }
        return nil
    }
}
