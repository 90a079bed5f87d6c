// The in-memory model registry: which model set is live, which versions can be gone back
// to, and the one atomic swap that publishes a new version to every scorer.
import Synchronization

/// Holds the live model set and a bounded history of earlier ones.
///
/// Publishing is one reference assignment under a mutex; scorers read `current` once per
/// batch (an uncontended lock, a retain and an unlock), so a batch is scored wholly by one
/// version and a new version is picked up at the next batch. Because a `ModelSet` is
/// immutable and fully built before it is published, a scorer can never see a half-built
/// model. Sets that fall out of the history are released after the lock is dropped, on the
/// publishing thread, so freeing their weights never stalls a scorer.
public final class ModelRegistry: Sendable {
    struct State {
        var current: ModelSet
        /// Retained sets, oldest first (includes `current`).
        var retained: [ModelSet]
        /// Versions made live, in order; rollback walks it backwards.
        var promotions: [Int64]
        var highestVersion: Int64
        var swaps = 0
        let retainLimit: Int

        /// Drops the oldest sets (never the current one) beyond the limit; returns them so
        /// the caller releases them outside the lock.
        mutating func trim() -> [ModelSet] {
            var dropped: [ModelSet] = []
            while retained.count > retainLimit, let i = retained.firstIndex(where: { $0 !== current }) {
                dropped.append(retained.remove(at: i))
            }
            let kept = Set(retained.map(\.version))
            promotions.removeAll { !kept.contains($0) }
            return dropped
        }

        /// Retains a new version and makes it live; returns the sets trimmed from the history.
        mutating func add(_ set: ModelSet) -> [ModelSet] {
            retained.append(set)
            highestVersion = max(highestVersion, set.version)
            makeCurrent(set)
            return trim()
        }

        mutating func makeCurrent(_ set: ModelSet) {
            current = set
            promotions.append(set.version)
            swaps += 1
        }
    }

    private let state: Mutex<State>

    /// - Parameter retainedVersions: how many versions stay in memory for promote and
    ///   rollback (the database keeps them all). Default: 8.
    public init(initial: ModelSet, retainedVersions: Int = 8) {
        state = Mutex(State(current: initial, retained: [initial], promotions: [initial.version],
                            highestVersion: initial.version, retainLimit: max(retainedVersions, 2)))
    }

    /// The live model set. Scorers call this once per batch.
    public var current: ModelSet { state.withLock { $0.current } }

    /// The live version number.
    public var currentVersion: Int64 { state.withLock { $0.current.version } }

    /// Publishes performed so far (promotions and rollbacks).
    public var swapCount: Int { state.withLock { $0.swaps } }

    /// The version number the next new model set should carry.
    public func nextVersion() -> Int64 { state.withLock { $0.highestVersion + 1 } }

    /// Retained versions, oldest first.
    public var retainedVersions: [Int64] { state.withLock { $0.retained.map(\.version) } }

    /// A retained set by version.
    public func modelSet(version: Int64) -> ModelSet? {
        state.withLock { s in s.retained.first { $0.version == version } }
    }

    /// Makes a new model set live. With `replacing`, succeeds only if that version is still
    /// live (a candidate trained on a model that was replaced meanwhile is stale), or if
    /// `set`'s own version already is: the trainer stores and promotes in the database before
    /// it publishes here, and a follower of the database may adopt the stored copy first.
    @discardableResult
    public func publish(_ set: ModelSet, replacing expected: Int64? = nil) throws -> ModelSet {
        let dropped: [ModelSet] = try state.withLock { s in
            if expected != nil, s.current.version == set.version { return [] }
            if let expected, s.current.version != expected {
                throw EngineError(.versionConflict, "candidate was built on version \(expected), but \(s.current.version) is live")
            }
            guard set.version > 0 else { throw EngineError(.invalidConfiguration, "model versions start at 1, got \(set.version)") }
            guard !s.retained.contains(where: { $0.version == set.version }) else {
                throw EngineError(.versionConflict, "version \(set.version) is already in the registry")
            }
            return s.add(set)
        }
        _ = dropped  // released here, outside the lock
        return set
    }

    /// Makes the database's live version live here: the retained copy when that version is
    /// already in the registry (this instance's trainer published it while the caller was
    /// loading it), else `set` itself. One step under the lock, so a follower of the
    /// database and the trainer can both bring in the same version without a conflict.
    @discardableResult
    public func adopt(_ set: ModelSet) throws -> ModelSet {
        let dropped: [ModelSet] = try state.withLock { s in
            guard set.version > 0 else { throw EngineError(.invalidConfiguration, "model versions start at 1, got \(set.version)") }
            if let retained = s.retained.first(where: { $0.version == set.version }) {
                if retained !== s.current { s.makeCurrent(retained) }
                return []
            }
            return s.add(set)
        }
        _ = dropped  // released here, outside the lock
        return current
    }

    /// Makes a retained version live again.
    @discardableResult
    public func promote(version: Int64) throws -> ModelSet {
        try state.withLock { s in
            guard let set = s.retained.first(where: { $0.version == version }) else {
                throw EngineError(.unknownVersion, "version \(version) is not retained in memory (retained: \(s.retained.map(\.version)))")
            }
            if set !== s.current { s.makeCurrent(set) }
            return set
        }
    }

    /// Goes back to the version that was live before the current one.
    @discardableResult
    public func rollback() throws -> ModelSet {
        try state.withLock { s in
            let currentVersion = s.current.version
            // Walk back past every entry of the current version (it may have been promoted twice).
            guard let previous = s.promotions.last(where: { $0 != currentVersion }),
                  let set = s.retained.first(where: { $0.version == previous }) else {
                throw EngineError(.noPreviousVersion, "no earlier version than \(currentVersion) to roll back to")
            }
            while let last = s.promotions.last, last != previous { s.promotions.removeLast() }
            s.promotions.removeLast()
            s.makeCurrent(set)
            return set
        }
    }
}
