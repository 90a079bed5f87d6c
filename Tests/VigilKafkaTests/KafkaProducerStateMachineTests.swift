// The producer's lifecycle state machine without I/O.
import Testing
@testable import VigilKafka

@Suite("KafkaProducer.StateMachine")
struct KafkaProducerStateMachineTests {
    @Test("open: sends are taken and the callback thread polls")
    func open() throws {
        let machine = KafkaProducer.StateMachine()
        try machine.checkOpen()
        #expect(machine.pollerShouldRun)
    }

    @Test("close: sends refused at once, polling goes on until the flush is over, then stops once")
    func close() {
        var machine = KafkaProducer.StateMachine()
        guard case .flush = machine.closeRequested() else {
            Issue.record("the first close did not flush")
            return
        }
        #expect(throws: KafkaError.self) { try machine.checkOpen() }
        #expect(machine.pollerShouldRun)  // the flush needs the delivery reports
        guard case .flush = machine.closeRequested() else {
            Issue.record("a concurrent close did not wait for the same flush")
            return
        }
        guard case .awaitPollerStop = machine.closeFlushed() else {
            Issue.record("the first flushed close did not stop the callback thread")
            return
        }
        #expect(!machine.pollerShouldRun)
        guard case .none = machine.closeFlushed() else {
            Issue.record("the callback thread was stopped twice")
            return
        }
        guard case .none = machine.closeRequested() else {
            Issue.record("a close after close flushed again")
            return
        }
    }

    @Test("releasing the producer without a close stops the callback thread")
    func released() {
        var machine = KafkaProducer.StateMachine()
        machine.released()
        #expect(!machine.pollerShouldRun)
        #expect(throws: KafkaError.self) { try machine.checkOpen() }
    }

    @Test("a flush finishing for a close that never began stops the process")
    func flushedWhileOpenIsImpossible() async {
        await #expect(processExitsWith: .failure) {
            var machine = KafkaProducer.StateMachine()
            _ = machine.closeFlushed()
        }
    }
}
