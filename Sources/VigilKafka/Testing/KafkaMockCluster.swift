// librdkafka's in-process mock cluster: a real Kafka protocol endpoint on
// localhost with no server to run, for unit tests of code built on VigilKafka.
// Not a stand-in for production: it implements only part of the protocol.

public final class KafkaMockCluster: Sendable {
    private let cluster: RDKafkaMockCluster

    /// Starts `brokers` mock brokers on localhost ports.
    public init(brokers: Int = 1) throws {
        cluster = try RDKafkaMockCluster(brokers: brokers)
    }

    /// The `host:port` list clients use as bootstrap servers.
    public var bootstrapServers: [String] {
        cluster.bootstrapServers.split(separator: ",").map(String.init)
    }

    public func createTopic(_ name: String, partitions: Int) throws {
        try cluster.createTopic(name, partitions: partitions)
    }
}
