// librdkafka's in-process mock cluster: a real Kafka protocol endpoint on
// localhost with no server to run, for unit tests of code built on VigilKafka.
// Not a stand-in for production: it implements only part of the protocol.
import CRdKafka

public final class KafkaMockCluster: Sendable {
    private let owner: RDKafkaClient
    /// Valid while `owner` lives; librdkafka's mock cluster is thread-safe.
    private let cluster: MockClusterPointer

    /// Starts `brokers` mock brokers on localhost ports.
    public init(brokers: Int = 1) throws {
        let conf = try RDKafkaConfiguration.make(["log_level": "3"])
        owner = try RDKafkaClient(type: RD_KAFKA_PRODUCER, conf: conf, callbackContext: nil)
        guard let cluster = rd_kafka_mock_cluster_new(owner.pointer, Int32(brokers)) else {
            throw KafkaError(.invalidState, "could not start the mock cluster", isRetriable: false)
        }
        self.cluster = MockClusterPointer(pointer: cluster)
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster.pointer)
    }

    /// The `host:port` list clients use as bootstrap servers.
    public var bootstrapServers: [String] {
        String(cString: rd_kafka_mock_cluster_bootstraps(cluster.pointer)).split(separator: ",").map(String.init)
    }

    public func createTopic(_ name: String, partitions: Int) throws {
        let err = rd_kafka_mock_topic_create(cluster.pointer, name, Int32(partitions), 1)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rd(err, "mock topic \(name)") }
    }
}

/// The mock cluster handle; librdkafka guards its state with its own lock.
private struct MockClusterPointer: @unchecked Sendable {
    let pointer: OpaquePointer
}
