// Where API decisions sit in the audit trail. Each partition P of the transactions topic T
// has an API source `api:T` partition P: its decisions carry that topic and partition, offsets
// counted from 0 in `consumer_offsets` under serve's group (advanced by the same
// compare-and-set as a Kafka partition, so a member that lost P cannot commit API decisions
// for P's cards either), and their own hash chain. `:` cannot occur in a Kafka topic name, so
// the source never collides with a real topic.
import VigilKafka

public enum ScoringSource {
    /// The API source's topic name for the transactions topic `topic`.
    public static func topic(of topic: String) -> String { "api:" + topic }

    /// The API source partition whose decisions are scored with `partition`'s state.
    static func partition(of partition: KafkaTopicPartition) -> KafkaTopicPartition {
        KafkaTopicPartition(topic: topic(of: partition.topic), partition: partition.partition)
    }
}
