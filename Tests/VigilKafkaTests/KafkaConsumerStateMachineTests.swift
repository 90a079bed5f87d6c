// The consumer's state machine without I/O: lifecycle, the error the next poll
// throws, and the bookkeeping of assignment and delivered positions.
import Testing
@testable import VigilKafka

@Suite("KafkaConsumer.StateMachine")
struct KafkaConsumerStateMachineTests {
    let p0 = KafkaTopicPartition(topic: "t", partition: 0)
    let p1 = KafkaTopicPartition(topic: "t", partition: 1)
    let brokerDown = KafkaError(.allBrokersDown, "down")
    let handlerFailed = KafkaError(.partitionHandlerFailed, "start offsets", isRetriable: false)

    @Test("an eager assignment replaces everything; concrete offsets become the next expected offset")
    func eager() {
        var machine = KafkaConsumer.StateMachine()
        machine.assigned([(p0, .at(5)), (p1, .beginning)], replacing: true)
        #expect(machine.assignment == [p0, p1])
        #expect(machine.next == [p0: 5])
        machine.revoked([p0, p1], all: true)
        #expect(machine.assignment.isEmpty && machine.next.isEmpty)
        machine.assigned([(p1, .at(9))], replacing: true)
        #expect(machine.assignment == [p1] && machine.next == [p1: 9])
    }

    @Test("cooperative changes add and remove only the partitions named")
    func cooperative() {
        var machine = KafkaConsumer.StateMachine()
        machine.assigned([(p0, .at(1))], replacing: false)
        machine.assigned([(p1, .at(2))], replacing: false)
        #expect(machine.assignment == [p0, p1] && machine.next == [p0: 1, p1: 2])
        machine.revoked([p0], all: false)
        #expect(machine.assignment == [p1] && machine.next == [p1: 2])
    }

    @Test("a cursor accepts messages in order from the assigned offset and drops stale ones")
    func cursor() throws {
        var machine = KafkaConsumer.StateMachine()
        machine.assigned([(p0, .at(10)), (p1, .stored)], replacing: true)
        var cursor = try #require(machine.cursor(for: p0))
        // 9: fetched before the assignment's offset; 12 after 10: gaps (compaction,
        // transactions) are fine; 11: behind what was delivered.
        let verdicts = [9, 10, 12, 11].map { cursor.accept($0) }
        #expect(verdicts == [false, true, true, false])
        machine.delivered(p0, cursor)
        #expect(machine.next[p0] == 13)

        var fresh = try #require(machine.cursor(for: p1))
        let first = fresh.accept(500)  // no offset known yet: the first message sets it
        #expect(first)
        machine.delivered(p1, fresh)
        #expect(machine.next[p1] == 501)
    }

    @Test("messages of a partition revoked while the batch was collected have no cursor")
    func revokedHasNoCursor() {
        var machine = KafkaConsumer.StateMachine()
        machine.assigned([(p0, .at(0)), (p1, .at(0))], replacing: false)
        machine.revoked([p1], all: false)
        #expect(machine.cursor(for: p1) == nil)
        #expect(machine.cursor(for: p0) != nil)
    }

    @Test("a seek moves the next expected offset; a logical offset accepts the first message again")
    func seek() {
        var machine = KafkaConsumer.StateMachine()
        machine.assigned([(p0, .at(100))], replacing: true)
        machine.sought(p0, to: .at(40))
        #expect(machine.next[p0] == 40)
        machine.sought(p0, to: .beginning)
        #expect(machine.next[p0] == nil)
        #expect(machine.assignment == [p0])
    }

    @Test("the first recorded error is thrown by the next poll, once")
    func pendingErrorIsThrownOnce() {
        var machine = KafkaConsumer.StateMachine()
        machine.record(handlerFailed)
        machine.record(brokerDown)  // a later one does not replace the first
        guard case .fail(let error) = machine.pollRequested() else {
            Issue.record("the pending error was not thrown")
            return
        }
        #expect(error.code == .partitionHandlerFailed)
        guard case .poll = machine.pollRequested() else {
            Issue.record("the error was thrown twice")
            return
        }
    }

    @Test("an error recorded during a consume call is taken before the batch is sorted")
    func takePendingError() {
        var machine = KafkaConsumer.StateMachine()
        #expect(machine.takePendingError() == nil)
        machine.record(handlerFailed)
        #expect(machine.takePendingError()?.code == .partitionHandlerFailed)
        #expect(machine.takePendingError() == nil)
    }

    @Test("a message error fails an empty batch, and waits for the next poll behind delivered messages")
    func batchFailure() {
        var machine = KafkaConsumer.StateMachine()
        guard case .deliver = machine.batchSorted(accepted: 3, failure: nil) else {
            Issue.record("a clean batch was not delivered")
            return
        }
        guard case .fail = machine.batchSorted(accepted: 0, failure: handlerFailed) else {
            Issue.record("an empty batch with an error did not fail")
            return
        }
        guard case .poll = machine.pollRequested() else {
            Issue.record("an error already thrown was kept")
            return
        }
        guard case .deliver = machine.batchSorted(accepted: 2, failure: handlerFailed) else {
            Issue.record("messages in hand were not delivered")
            return
        }
        guard case .fail(let deferred) = machine.pollRequested() else {
            Issue.record("the deferred error was lost")
            return
        }
        #expect(deferred.code == .partitionHandlerFailed)
    }

    @Test("close: open, closing (assignment still readable), closed; idempotent")
    func closeLifecycle() throws {
        var machine = KafkaConsumer.StateMachine()
        try machine.checkOpen()
        guard case .close = machine.closeRequested() else {
            Issue.record("the first close did not close")
            return
        }
        #expect(throws: KafkaError.self) { try machine.checkOpen() }
        try machine.checkNotClosed()  // the partition handler may read the assignment
        machine.revoked([p0], all: true)  // the final revocation arrives while closing
        machine.record(brokerDown)  // no poll will come: dropped
        guard case .none = machine.closeRequested() else {
            Issue.record("a second close closed again")
            return
        }
        machine.closeFinished()
        #expect(machine.isClosed)
        #expect(throws: KafkaError.self) { try machine.checkNotClosed() }
        guard case .fail(let error) = machine.pollRequested() else {
            Issue.record("a poll after close did not fail")
            return
        }
        #expect(error.code == .invalidState)
        guard case .none = machine.closeRequested() else {
            Issue.record("a close after close closed again")
            return
        }
    }

    @Test("a close that finishes without having begun stops the process")
    func closeFinishedWhileOpenIsImpossible() async {
        await #expect(processExitsWith: .failure) {
            var machine = KafkaConsumer.StateMachine()
            machine.closeFinished()
        }
    }

    @Test("a rebalance after the close finished stops the process")
    func rebalanceAfterCloseIsImpossible() async {
        await #expect(processExitsWith: .failure) {
            var machine = KafkaConsumer.StateMachine()
            _ = machine.closeRequested()
            machine.closeFinished()
            machine.assigned([(KafkaTopicPartition(topic: "t", partition: 0), .stored)], replacing: true)
        }
    }
}
