// Plain librdkafka loops with nothing in between: the yardstick benchmarks compare
// VigilKafka against (`tools/bench smoke`, `tools/bench kafka`) and the toolchain
// smoke check of the integration tests. Deliberately C-level; product code uses
// VigilKafka instead.
import CRdKafka
import Foundation
import Synchronization

public struct KafkaBaselineError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Figures of one produce or consume run.
public struct KafkaBaselineRun: Sendable {
    public var messages: Int
    public var bytes: Int
    public var seconds: Double
    public var messagesPerSecond: Double { seconds > 0 ? Double(messages) / seconds : 0 }
}

public enum KafkaBaseline {
    /// Creates `topic` with `partitions` partitions through the Admin API.
    public static func createTopic(brokers: String, topic: String, partitions: Int, timeoutMs: Int32 = 15_000) throws {
        let rk = try makeClient(type: RD_KAFKA_PRODUCER, settings: ["bootstrap.servers": brokers])
        defer { rd_kafka_destroy(rk) }
        var errstr = [CChar](repeating: 0, count: 512)
        guard let newTopic = rd_kafka_NewTopic_new(topic, Int32(partitions), 1, &errstr, errstr.count) else {
            throw KafkaBaselineError("NewTopic: \(text(errstr))")
        }
        defer { rd_kafka_NewTopic_destroy(newTopic) }
        let queue = rd_kafka_queue_new(rk)
        defer { rd_kafka_queue_destroy(queue) }
        var topics: [OpaquePointer?] = [newTopic]
        rd_kafka_CreateTopics(rk, &topics, 1, nil, queue)
        guard let event = rd_kafka_queue_poll(queue, Int32(timeoutMs)) else {
            throw KafkaBaselineError("CreateTopics \(topic): no answer within \(timeoutMs) ms")
        }
        defer { rd_kafka_event_destroy(event) }
        if rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaBaselineError("CreateTopics \(topic): \(String(cString: rd_kafka_event_error_string(event)))")
        }
        var count = 0
        let results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count)
        for index in 0..<count {
            let result = results![index]
            let err = rd_kafka_topic_result_error(result)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
                throw KafkaBaselineError("CreateTopics \(topic): \(String(cString: rd_kafka_err2str(err)))")
            }
        }
    }

    /// Produces `count` messages of `payloadSize` bytes, keyed round-robin over 1,000 keys,
    /// and waits for every delivery report. Throws when any delivery failed.
    public static func produce(brokers: String, topic: String, count: Int, payloadSize: Int) throws -> KafkaBaselineRun {
        deliveryFailures.store(0, ordering: .relaxed)
        let rk = try makeClient(type: RD_KAFKA_PRODUCER, settings: [
            "bootstrap.servers": brokers,
            "linger.ms": "5",
            "batch.num.messages": "10000",
            "queue.buffering.max.messages": "200000",
        ], deliveryReports: true)
        defer { rd_kafka_destroy(rk) }
        guard let rkt = rd_kafka_topic_new(rk, topic, nil) else {
            throw KafkaBaselineError("topic_new \(topic) failed")
        }
        defer { rd_kafka_topic_destroy(rkt) }
        var payload = [UInt8](repeating: UInt8(ascii: "x"), count: payloadSize)
        let start = DispatchTime.now().uptimeNanoseconds
        for index in 0..<count {
            let key = Array("card-\(index % 1000)".utf8)
            if payloadSize >= 8 { withUnsafeBytes(of: UInt64(index).bigEndian) { payload.replaceSubrange(0..<8, with: $0) } }
            while true {
                let rc = payload.withUnsafeMutableBytes { value in
                    key.withUnsafeBytes { keyBytes in
                        rd_kafka_produce(rkt, -1, RD_KAFKA_MSG_F_COPY, value.baseAddress, value.count,
                                         keyBytes.baseAddress, keyBytes.count, nil)
                    }
                }
                if rc == 0 { break }
                let err = rd_kafka_last_error()
                guard err == RD_KAFKA_RESP_ERR__QUEUE_FULL else {
                    throw KafkaBaselineError("produce: \(String(cString: rd_kafka_err2str(err)))")
                }
                rd_kafka_poll(rk, 10)
            }
            if index % 1000 == 0 { rd_kafka_poll(rk, 0) }
        }
        let flushed = rd_kafka_flush(rk, 60_000)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        guard flushed == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaBaselineError("flush: \(String(cString: rd_kafka_err2str(flushed)))")
        }
        let failed = deliveryFailures.load(ordering: .relaxed)
        guard failed == 0 else { throw KafkaBaselineError("\(failed) of \(count) deliveries failed") }
        return KafkaBaselineRun(messages: count, bytes: count * payloadSize, seconds: seconds)
    }

    /// Consumes partitions 0..<partitions of `topic` from the beginning with manual
    /// assignment until `expected` messages arrived or `timeout` seconds passed.
    /// The clock starts at the first message, so connection set-up is not counted.
    public static func consume(brokers: String, topic: String, partitions: Int, expected: Int,
                               timeout: Double = 120) throws -> KafkaBaselineRun {
        let rk = try makeClient(type: RD_KAFKA_CONSUMER, settings: [
            "bootstrap.servers": brokers,
            "group.id": "vigil-baseline-\(UUID().uuidString)",
            "enable.auto.commit": "false",
            "enable.partition.eof": "false",
            "fetch.max.bytes": "52428800",
            "queued.min.messages": "100000",
        ])
        defer {
            rd_kafka_consumer_close(rk)
            rd_kafka_destroy(rk)
        }
        rd_kafka_poll_set_consumer(rk)
        let list = rd_kafka_topic_partition_list_new(Int32(partitions))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in 0..<partitions {
            rd_kafka_topic_partition_list_add(list, topic, Int32(partition)).pointee.offset = Int64(RD_KAFKA_OFFSET_BEGINNING)
        }
        let assigned = rd_kafka_assign(rk, list)
        guard assigned == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaBaselineError("assign: \(String(cString: rd_kafka_err2str(assigned)))")
        }
        var messages = 0
        var bytes = 0
        var first: UInt64 = 0
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeout * 1e9)
        while messages < expected {
            guard let message = rd_kafka_consumer_poll(rk, 100) else {
                if DispatchTime.now().uptimeNanoseconds > deadline { break }
                continue
            }
            defer { rd_kafka_message_destroy(message) }
            let err = message.pointee.err
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                if err == RD_KAFKA_RESP_ERR__PARTITION_EOF { continue }
                throw KafkaBaselineError("consume: \(String(cString: rd_kafka_err2str(err)))")
            }
            if first == 0 { first = DispatchTime.now().uptimeNanoseconds }
            messages += 1
            bytes += message.pointee.len
        }
        let seconds = first == 0 ? 0 : Double(DispatchTime.now().uptimeNanoseconds - first) / 1e9
        return KafkaBaselineRun(messages: messages, bytes: bytes, seconds: seconds)
    }

    private static func makeClient(type: rd_kafka_type_t, settings: [String: String],
                                   deliveryReports: Bool = false) throws -> OpaquePointer {
        let conf = rd_kafka_conf_new()
        var errstr = [CChar](repeating: 0, count: 512)
        for (key, value) in settings where rd_kafka_conf_set(conf, key, value, &errstr, errstr.count) != RD_KAFKA_CONF_OK {
            rd_kafka_conf_destroy(conf)
            throw KafkaBaselineError("config \(key): \(text(errstr))")
        }
        if deliveryReports {
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, _ in
                if let message, message.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    deliveryFailures.add(1, ordering: .relaxed)
                }
            }
        }
        guard let rk = rd_kafka_new(type, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaBaselineError("rd_kafka_new: \(text(errstr))")
        }
        return rk
    }
}

/// The text of a NUL-terminated error buffer that librdkafka filled in.
private func text(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Failed deliveries reported by the C callback of the producer run under way.
private let deliveryFailures = Atomic<Int>(0)
