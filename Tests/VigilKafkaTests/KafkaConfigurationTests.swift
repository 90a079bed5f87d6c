// Configuration and error mapping: no servers involved.
import Testing
@testable import VigilKafka

@Suite("Kafka configuration and errors")
struct KafkaConfigurationTests {
    @Test("secret properties never show in descriptions")
    func secretsRedacted() {
        var config = KafkaConsumerConfiguration(bootstrapServers: ["b:9092"], groupID: "g")
        config.properties = ["sasl.password": "hunter2", "ssl.key.password": "k3y", "security.protocol": "SASL_SSL",
                             "sasl.oauthbearer.client.secret": "s3cr3t"]
        let text = "\(config) \(config.properties) \(String(reflecting: config.properties))"
        #expect(!text.contains("hunter2"))
        #expect(!text.contains("k3y"))
        #expect(!text.contains("s3cr3t"))
        #expect(text.contains("security.protocol=SASL_SSL"))
        #expect(text.contains("sasl.password=[redacted]"))
    }

    @Test("typed settings become librdkafka properties and raw properties override them")
    func propertyMap() {
        var config = KafkaConsumerConfiguration(bootstrapServers: ["a:1", "b:2"], groupID: "fraud")
        config.sessionTimeout = .seconds(6)
        config.rebalanceProtocol = .cooperativeSticky
        config.properties["fetch.max.bytes"] = "1000"
        let map = config.librdkafkaProperties
        #expect(map["bootstrap.servers"] == "a:1,b:2")
        #expect(map["session.timeout.ms"] == "6000")
        #expect(map["heartbeat.interval.ms"] == "2000")
        #expect(map["partition.assignment.strategy"] == "cooperative-sticky")
        #expect(map["enable.auto.commit"] == "false")
        #expect(map["fetch.max.bytes"] == "1000")

        var producer = KafkaProducerConfiguration(bootstrapServers: ["a:1"])
        producer.idempotent = true
        producer.messageTimeout = .milliseconds(2500)
        #expect(producer.librdkafkaProperties["enable.idempotence"] == "true")
        #expect(producer.librdkafkaProperties["message.timeout.ms"] == "2500")
        #expect(producer.librdkafkaProperties["allow.auto.create.topics"] == "false")
    }

    @Test("an invalid property is a clear error that names the key but not a secret value")
    func invalidProperty() {
        var config = KafkaProducerConfiguration(bootstrapServers: ["a:1"])
        config.properties["no.such.property"] = "1"
        #expect {
            _ = try KafkaProducer(configuration: config)
        } throws: { error in
            guard let error = error as? KafkaError else { return false }
            return error.code == .invalidArgument && error.message.contains("no.such.property") && !error.isRetriable
        }

        var secret = KafkaProducerConfiguration(bootstrapServers: ["a:1"])
        secret.properties["ssl.key.password"] = "topsecret"
        secret.properties["security.protocol"] = "bogus-protocol"
        #expect {
            _ = try KafkaProducer(configuration: secret)
        } throws: { error in
            !"\(error)".contains("topsecret") && "\(error)".contains("security.protocol")
        }
    }

    @Test("codes map from librdkafka and classify retriable and fatal errors")
    func errorCodes() {
        #expect(KafkaError(.queueFull, "x").isRetriable)
        #expect(KafkaError(.messageTimedOut, "x").isRetriable)
        #expect(KafkaError(.transport, "x").isRetriable)
        #expect(KafkaError(.maxPollExceeded, "x").isRetriable)
        #expect(!KafkaError(.invalidArgument, "x").isRetriable)
        #expect(KafkaError(.fatal, "x").isFatal)
        #expect(!KafkaError(.timedOut, "x").isFatal)
        #expect(KafkaError.Code.messageTimedOut.description == "_MSG_TIMED_OUT")
        #expect(KafkaError.Code(rawValue: 3) == .unknownTopicOrPartition)
        #expect("\(KafkaError(.queueFull, "full"))".contains("_QUEUE_FULL"))
    }

    @Test("durations convert to whole, clamped milliseconds")
    func durations() {
        #expect(Duration.milliseconds(1500).milliseconds == 1500)
        #expect(Duration.seconds(-1).milliseconds == 0)
        #expect(Duration.seconds(10_000_000).milliseconds == Int(Int32.max))
    }
}
