// Ownership of a librdkafka mock cluster and of the handle it lives in.
import CRdKafka

/// The mock cluster is valid while its owning handle lives, and is destroyed before it;
/// librdkafka guards the cluster's state with its own lock, which makes `@unchecked
/// Sendable` sound.
final class RDKafkaMockCluster: @unchecked Sendable {
    private let owner: RDKafkaClient
    private let pointer: OpaquePointer

    init(brokers: Int) throws(KafkaError) {
        owner = try RDKafkaClient.plainProducer(["log_level": "3"])
        guard let cluster = rd_kafka_mock_cluster_new(owner.pointer, Int32(brokers)) else {
            throw KafkaError(.invalidState, "could not start the mock cluster", isRetriable: false)
        }
        pointer = cluster
    }

    deinit {
        rd_kafka_mock_cluster_destroy(pointer)
    }

    var bootstrapServers: String { String(cString: rd_kafka_mock_cluster_bootstraps(pointer)) }

    func createTopic(_ name: String, partitions: Int) throws(KafkaError) {
        let err = rd_kafka_mock_topic_create(pointer, name, Int32(partitions), 1)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rd(err, "mock topic \(name)") }
    }
}
