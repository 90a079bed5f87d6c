// Work running on its own thread while the replay goes on: learning from a batch's labels while
// the next batch is scored, and the label schedule while the starting model trains.
import Dispatch
import Foundation
import Synchronization

/// Runs `body` once on a thread of its own; `wait` blocks for its result. The replay only ever
/// asks for results at fixed points of the event stream, so where the work happens in
/// wall-clock time does not change what the replay computes.
final class BackgroundWork<Value: Sendable>: Sendable {
    private let result = Mutex<Result<Value, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    /// Runs `body` on `queue` (a serial queue runs such works one after another, in order).
    init(on queue: DispatchQueue, _ body: @escaping @Sendable () throws -> Value) {
        queue.async { [self] in
            let outcome = Result { try body() }
            result.withLock { $0 = outcome }
            done.signal()
        }
    }

    init(name: String, _ body: @escaping @Sendable () throws -> Value) {
        // A thread, not the cooperative pool: this is seconds of blocking CPU work.
        let thread = Thread { [self] in
            let outcome = Result { try body() }
            result.withLock { $0 = outcome }
            done.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Blocks until the work is done and returns (or throws) its result; call once.
    func wait() throws -> Value {
        done.wait()
        return try result.withLock { $0! }.get()
    }
}

/// Runs `body` on a thread of its own and resumes the caller with its result: reading a replay
/// input and replaying it are seconds of blocking CPU work, which must not hold a thread of
/// Swift's cooperative pool (an async caller, `vigil replay`, awaits this instead).
public func onOwnThread<Value: Sendable>(name: String, _ body: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.name = name
        thread.start()
    }
}
