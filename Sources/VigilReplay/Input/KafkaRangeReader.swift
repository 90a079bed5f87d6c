// `vigil replay --kafka-topic`: reads a bounded range of a topic (offsets or message
// timestamps) through VigilKafka's consumer with manual assignment: no group membership, no
// commits, nothing changes on the broker. Stops at the end of the range.
import Foundation
import VigilFeatures
import VigilKafka

/// The part of one topic to replay.
public struct KafkaTopicRange: Sendable {
    public var topic: String
    /// Partitions to read; nil = every partition of the topic.
    public var partitions: [Int32]?
    /// First offset read in each partition (inclusive); nil = the oldest still in the log.
    public var fromOffset: Int64?
    /// Offset where each partition's range ends (exclusive); nil = the log end.
    public var toOffset: Int64?
    /// Only messages whose Kafka timestamp is at or after this (milliseconds since the epoch).
    public var fromTimeMillis: Int64?
    /// Only messages whose Kafka timestamp is before this.
    public var toTimeMillis: Int64?

    public init(topic: String, partitions: [Int32]? = nil, fromOffset: Int64? = nil, toOffset: Int64? = nil,
                fromTimeMillis: Int64? = nil, toTimeMillis: Int64? = nil) {
        self.topic = topic
        self.partitions = partitions
        self.fromOffset = fromOffset
        self.toOffset = toOffset
        self.fromTimeMillis = fromTimeMillis
        self.toTimeMillis = toTimeMillis
    }

    func admits(_ message: KafkaMessage) -> Bool {
        guard fromTimeMillis != nil || toTimeMillis != nil else { return true }
        guard let ts = message.timestampMilliseconds else { return false }
        return ts >= (fromTimeMillis ?? .min) && ts < (toTimeMillis ?? .max)
    }
}

public enum KafkaRangeReader {
    /// Gives up when a partition delivers nothing for this long before its range end.
    public static let stallTimeout: Duration = .seconds(30)

    /// Reads the range into `input` (events, or labels with `labels: true`) and, for events,
    /// their positions. Messages are decoded as they arrive; malformed ones are reported as
    /// `topic[partition]@offset` and skipped, or fatal per the reader's policy.
    public static func read(_ range: KafkaTopicRange, brokers: [String], labels: Bool, reader: ReplayInputReader,
                     into input: inout ReplayInput, positions: inout [MessagePosition]) async throws {
        let consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(
            bootstrapServers: brokers, groupID: "vigil-replay-\(UUID().uuidString.prefix(8))"))
        do {
            try await readRange(range, consumer: consumer, labels: labels, reader: reader, into: &input, positions: &positions)
        } catch {
            try? await consumer.close()
            throw error
        }
        try? await consumer.close()
    }

    private static func readRange(_ range: KafkaTopicRange, consumer: KafkaConsumer, labels: Bool, reader: ReplayInputReader,
                                  into input: inout ReplayInput, positions: inout [MessagePosition]) async throws {
        var partitions = range.partitions ?? []
        if range.partitions == nil { partitions = try await discoverPartitions(range.topic, consumer: consumer) }
        let keys = partitions.map { KafkaTopicPartition(topic: range.topic, partition: $0) }
        var start: [KafkaTopicPartition: Int64] = [:], end: [KafkaTopicPartition: Int64] = [:]
        for w in try await watermarks(keys, consumer: consumer) {
            start[w.partition] = max(range.fromOffset ?? w.low, w.low)
            end[w.partition] = min(range.toOffset ?? w.high, w.high)
        }
        var next = start
        func open() -> [KafkaTopicPartition] { keys.filter { next[$0]! < end[$0]! } }
        // Every partition is assigned, even one whose range looks empty: the broker's first
        // answer for the log end can be short (Tansu reports the last batch's base offset, 0 for
        // a partition holding one batch, until a fetch response told the client more).
        let readable = keys.filter { next[$0]! < (range.toOffset ?? .max) }
        guard !readable.isEmpty else { return }
        try await consumer.assign(Dictionary(uniqueKeysWithValues: readable.map { ($0, KafkaOffset.at(next[$0]!)) }))
        // Messages are kept until the range's end is final, then decoded in offset order.
        var received: [KafkaTopicPartition: [KafkaMessage]] = [:]
        let clock = ContinuousClock()
        var lastProgress = clock.now
        var quietPolls = 0
        while true {
            let batch = try await consumer.poll(maxMessages: 10_000, timeout: .milliseconds(200))
            for m in batch where m.offset < range.toOffset ?? .max {
                let key = m.topicPartition
                // Below the start: a start past the log end made the client reset to the oldest offset.
                guard let first = start[key], m.offset >= first else { continue }
                next[key] = max(next[key]!, m.offset + 1)
                received[key, default: []].append(m)
            }
            if !batch.isEmpty {
                lastProgress = clock.now
                quietPolls = 0
                continue
            }
            quietPolls += 1
            if open().isEmpty {
                // Caught up with the ends known so far: once fetches have been quiet for a
                // while, ask again (now with the fetch responses' high watermarks) and stop
                // when nothing more lies inside the range.
                guard quietPolls >= 3 else { continue }
                var grew = false
                for w in try await consumer.lag() where end[w.partition] != nil {
                    let e = min(range.toOffset ?? w.high, w.high)
                    if e > end[w.partition]! { end[w.partition] = e; grew = true }
                }
                if !grew { break }
            } else if clock.now - lastProgress > stallTimeout {
                throw ReplayError(.io, "\(range.topic): no messages for \(stallTimeout) before the range end (at \(open().map { "\($0)@\(next[$0]!)" }))")
            }
        }
        for key in keys {
            for m in received[key] ?? [] where m.offset < end[key]! && range.admits(m) {
                let at = MessagePosition(partition: m.partition, offset: m.offset)
                if labels {
                    try reader.decodeLabelMessage(m.value, source: range.topic, at: at, into: &input)
                } else {
                    try reader.decodeEventMessage(m.value, source: range.topic, at: at, into: &input, positions: &positions)
                }
            }
        }
    }

    /// Low and high watermarks of `partitions` (assigned at their beginning for the query).
    private static func watermarks(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) async throws -> [KafkaPartitionLag] {
        try await consumer.assign(Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaOffset.beginning) }))
        do { return try await consumer.lag() } catch {
            throw ReplayError(.io, "cannot read the offsets of \(partitions): \(error)")
        }
    }

    /// Every partition of `topic`, from the broker's metadata.
    private static func discoverPartitions(_ topic: String, consumer: KafkaConsumer) async throws -> [Int32] {
        do { return try await consumer.partitions(of: topic) } catch {
            throw ReplayError(.io, "cannot list the partitions of \(topic) (does it exist?): \(error)")
        }
    }
}
