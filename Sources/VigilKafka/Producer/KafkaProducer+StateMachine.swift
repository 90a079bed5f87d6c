// The producer's lifecycle in one value behind one lock: whether sends are taken,
// whether the callback thread keeps polling, and what a close has still to do.
// It does no I/O, so it is unit-tested on its own.
import Synchronization

extension KafkaProducer {
    struct StateMachine: Sendable {
        enum State: Sendable {
            /// Sends are taken; the callback thread polls.
            case open
            /// A close is flushing: sends are refused, the callback thread still polls (the
            /// flush waits for the delivery reports it serves).
            case closing
            /// The callback thread has been told to stop (after a close, or the producer was
            /// released); every call is refused.
            case stopped
        }

        private(set) var state: State = .open

        /// Sends and flushes run only while open.
        func checkOpen() throws(KafkaError) {
            guard case .open = state else {
                throw KafkaError(.invalidState, "the producer is closed", isRetriable: false)
            }
        }

        /// Asked by the callback thread after every poll.
        var pollerShouldRun: Bool {
            switch state {
            case .open, .closing: return true
            case .stopped: return false
            }
        }

        enum CloseAction {
            /// Flush, then report `closeFlushed`. Also for a second close while the first
            /// flushes: it returns once the same messages are out.
            case flush
            /// Closed already: nothing to do (close is idempotent).
            case none
        }

        mutating func closeRequested() -> CloseAction {
            switch state {
            case .open:
                state = .closing
                return .flush
            case .closing:
                return .flush
            case .stopped:
                return .none
            }
        }

        enum FlushedAction {
            /// Wait for the callback thread to end its last poll.
            case awaitPollerStop
            /// A concurrent close got there first.
            case none
        }

        /// A close's flush has finished (delivered or timed out): the callback thread stops.
        mutating func closeFlushed() -> FlushedAction {
            switch state {
            case .open:
                preconditionFailure("KafkaProducer: a close flushed while the producer was open")
            case .closing:
                state = .stopped
                return .awaitPollerStop
            case .stopped:
                return .none
            }
        }

        /// The producer is being released without a close: the callback thread stops.
        mutating func released() {
            state = .stopped
        }
    }

    /// The machine, shared by the producer and its callback thread (which must not keep the
    /// producer alive, so it cannot reach the machine through it).
    final class SharedState: Sendable {
        let machine = Mutex(StateMachine())
    }
}
