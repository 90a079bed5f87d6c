// The per-call cancellation state of PostgresConnection, without a server.
import Testing
@testable import VigilPostgres

@Suite("Call cancellation")
struct CallCancellationTests {
    @Test("a call cancelled before its turn does not start")
    func cancelledBeforeStart() {
        let call = CallCancellation()
        call.cancel()
        #expect(!call.start(nil))
    }

    @Test("a call starts normally, and cancelling after it finished or twice is harmless")
    func normalLifecycle() {
        let call = CallCancellation()
        #expect(call.start(nil))
        call.cancel() // running without a token: nothing to send
        call.finish()
        call.cancel()
        call.cancel()
        let other = CallCancellation()
        #expect(other.start(nil))
    }
}
