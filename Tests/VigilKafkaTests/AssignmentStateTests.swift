// The consumer's bookkeeping of assignment and delivered positions, without I/O.
import Testing
@testable import VigilKafka

@Suite("Assignment bookkeeping")
struct AssignmentStateTests {
    let p0 = KafkaTopicPartition(topic: "t", partition: 0)
    let p1 = KafkaTopicPartition(topic: "t", partition: 1)

    @Test("an eager assignment replaces everything; concrete offsets become the next expected offset")
    func eager() {
        var state = RebalanceContext.State()
        state.assigned([(p0, .at(5)), (p1, .beginning)], replacing: true)
        #expect(state.assignment == [p0, p1])
        #expect(state.next == [p0: 5])
        state.revoked([p0, p1], all: true)
        #expect(state.assignment.isEmpty && state.next.isEmpty)
        state.assigned([(p1, .at(9))], replacing: true)
        #expect(state.assignment == [p1] && state.next == [p1: 9])
    }

    @Test("cooperative changes add and remove only the partitions named")
    func cooperative() {
        var state = RebalanceContext.State()
        state.assigned([(p0, .at(1))], replacing: false)
        state.assigned([(p1, .at(2))], replacing: false)
        #expect(state.assignment == [p0, p1] && state.next == [p0: 1, p1: 2])
        state.revoked([p0], all: false)
        #expect(state.assignment == [p1] && state.next == [p1: 2])
    }
}
