// How a polled batch is split per partition before deciding.
import Testing
import VigilKafka
@testable import VigilService

@Suite struct BatchGroupingTests {
    func message(_ partition: Int32, _ offset: Int64, topic: String = "tx") -> KafkaMessage {
        KafkaMessage(topic: topic, partition: partition, offset: offset, key: nil, value: [1][...], timestampMilliseconds: nil, headers: [])
    }

    @Test func groupsRunsPerPartitionInFirstSeenOrder() {
        let groups = BatchDecider.byPartition([message(1, 5), message(1, 6), message(0, 2), message(1, 7), message(0, 3),
                                               message(0, 0, topic: "labels")])
        #expect(groups.map(\.0) == [KafkaTopicPartition(topic: "tx", partition: 1), KafkaTopicPartition(topic: "tx", partition: 0),
                                    KafkaTopicPartition(topic: "labels", partition: 0)])
        #expect(groups[0].1.map(\.offset) == [5, 6, 7])
        #expect(groups[1].1.map(\.offset) == [2, 3])
    }

    @Test func redeliveredOffsetsAreDecidedOnce() {
        // A partition delivered again from its stored offset while a cold start accumulated.
        let groups = BatchDecider.byPartition([message(0, 0), message(0, 1), message(0, 2), message(0, 0), message(0, 1), message(0, 3)])
        #expect(groups.count == 1)
        #expect(groups[0].1.map(\.offset) == [0, 1, 2, 3])
    }

    @Test func emptyBatch() {
        #expect(BatchDecider.byPartition([]).isEmpty)
    }
}
