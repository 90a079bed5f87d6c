// A training round running on its own thread while the replay goes on scoring.
import Dispatch
import Foundation
import Synchronization
import VigilEngine

/// Trains one prepared round on a background thread. The round's data was taken at a fixed
/// event (`OnlineTrainer.prepareRound`) and its result is applied at a fixed later event, so
/// where the work happens in wall-clock time does not change what the replay computes.
final class BackgroundRound: Sendable {
    private let result = Mutex<TrainedRound?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(trainer: OnlineTrainer, prepared: PreparedRound) {
        // A thread of its own, not the cooperative pool: a round is seconds of blocking CPU work.
        let thread = Thread { [self] in
            let trained = trainer.train(prepared: prepared)
            result.withLock { $0 = trained }
            done.signal()
        }
        thread.name = "vigil-replay-trainer"
        thread.start()
    }

    /// Blocks until the round has trained; call once.
    func wait() -> TrainedRound {
        done.wait()
        return result.withLock { $0! }
    }
}
