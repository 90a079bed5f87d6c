// `vigil replay --kafka-topic` on the local broker: a known stream (simulated transactions on
// two partitions, one malformed message, labels on their own topic) replayed as a topic range
// gives the same metrics twice, and the same metrics as the same events from a JSONL file.
import Foundation
import Testing
import VigilKafka
import VigilSimulator

@Suite("vigil replay from a Kafka topic range", .serialized)
struct ReplayKafkaTests {
    /// What was produced, in the replay's documented order (event time, partition, offset).
    struct Stream {
        var topic: String
        var labelsTopic: String
        var dir: URL
        /// (timestamp, partition, offset, line) of every message, malformed one included.
        var messages: [(ts: Int64, partition: Int32, offset: Int64, line: String)] = []
        var malformedOffset: Int64 = 0
    }

    static let events = 4000
    static let malformedAt = 1001  // index in send order (partition 1, between valid messages)

    /// Produces the stream once per test (unique topics) and writes the same events as JSONL.
    static func produce() async throws -> Stream {
        let brokers = try KafkaTestSupport.brokers()
        let run = KafkaTestSupport.uniqueName("replay")
        var s = Stream(topic: "\(run)-tx", labelsTopic: "\(run)-labels",
                       dir: FileManager.default.temporaryDirectory.appendingPathComponent(run))
        try FileManager.default.createDirectory(at: s.dir, withIntermediateDirectories: true)
        try KafkaTestSupport.createTopic(s.topic, partitions: 2, brokers: brokers)
        try KafkaTestSupport.createTopic(s.labelsTopic, partitions: 1, brokers: brokers)
        let producer = try KafkaTestSupport.producer(brokers: brokers)
        var simulator = SimulatorConfiguration()
        simulator.seed = 5
        var next: [Int64] = [0, 0]
        var labels = ""
        var sent = 0
        func send(_ line: String, partition: Int32, ts: Int64) throws {
            _ = try producer.send(KafkaProducerMessage(topic: s.topic, partition: partition, value: Array(line.utf8), timestampMilliseconds: ts))
            s.messages.append((ts, partition, next[Int(partition)], line))
            next[Int(partition)] += 1
        }
        for record in TransactionSimulator(configuration: simulator, maxTransactions: events) {
            switch record {
            case .transaction(let t):
                let partition = Int32(sent % 2)
                if sent == malformedAt {
                    s.malformedOffset = next[Int(partition)]
                    try send(#"{"event_id":"broken","amount":"#, partition: partition, ts: t.timestampMillis)
                }
                try send(t.json(truth: true), partition: partition, ts: t.timestampMillis)
                sent += 1
            case .label(let l):
                _ = try producer.send(KafkaProducerMessage(topic: s.labelsTopic, value: Array(l.json().utf8)))
                labels += l.json() + "\n"
            }
        }
        try await producer.flush(timeout: .seconds(60))
        try await producer.close()
        // The JSONL twin, in the order a topic range is replayed in.
        let ordered = s.messages.sorted { a, b in (a.ts, a.partition, a.offset) < (b.ts, b.partition, b.offset) }
        try ordered.map(\.line).joined(separator: "\n").appending("\n").write(to: s.dir.appendingPathComponent("events.jsonl"), atomically: true, encoding: .utf8)
        try labels.write(to: s.dir.appendingPathComponent("labels.jsonl"), atomically: true, encoding: .utf8)
        return s
    }

    static let common = ["--label-delay", "200", "--trainer", "publish_every_labels=200,guard_minimum_frauds=5", "--warm-up", "512", "--quiet"]

    @Test("a topic range replays twice to identical metrics, equal to the same events from a JSONL file; the malformed message is reported")
    func rangeMatchesFile() async throws {
        let s = try await Self.produce()
        defer { try? FileManager.default.removeItem(at: s.dir) }
        let brokers = try KafkaTestSupport.brokers()
        var outputs: [Data] = []
        for k in 0..<2 {
            let out = s.dir.appendingPathComponent("kafka-\(k)").path
            let r = try Self.replay(["--kafka-topic", s.topic, "--labels-topic", s.labelsTopic, "--brokers", brokers, "--out", out] + Self.common)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stderr.contains("\(s.topic)[1]@\(s.malformedOffset)"), "malformed message not reported: \(r.stderr)")
            outputs.append(try Data(contentsOf: URL(fileURLWithPath: "\(out)/metrics.json")))
        }
        #expect(outputs[0] == outputs[1])
        let fileOut = s.dir.appendingPathComponent("file").path
        let r = try Self.replay([s.dir.appendingPathComponent("events.jsonl").path, "--labels", s.dir.appendingPathComponent("labels.jsonl").path,
                                 "--out", fileOut] + Self.common)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(fileOut)/metrics.json")) == outputs[0])
        let metrics = try #require(try JSONSerialization.jsonObject(with: outputs[0]) as? [String: Any])
        #expect(metrics["events"] as? Int == Self.events)
        #expect(metrics["skipped_rows"] as? Int == 1)
        #expect((metrics["labels_delivered"] as? Int ?? 0) > 0)

        // --on-malformed fail stops at the malformed message.
        let failing = try Self.replay(["--kafka-topic", s.topic, "--brokers", brokers, "--on-malformed", "fail",
                                       "--out", s.dir.appendingPathComponent("fail").path] + Self.common)
        #expect(failing.status == 2)
        #expect(failing.stderr.contains("\(s.topic)[1]@\(s.malformedOffset)"))
    }

    @Test("offset and time ranges read exactly the messages inside them, from every partition or the chosen ones")
    func ranges() async throws {
        let s = try await Self.produce()
        defer { try? FileManager.default.removeItem(at: s.dir) }
        let brokers = try KafkaTestSupport.brokers()
        let valid = s.messages.filter { !$0.line.contains(#""broken""#) }
        let frozen = ["--freeze", "--warm-up", "64", "--label-delay", "1", "--quiet"]
        func events(_ extra: [String]) throws -> Int? {
            let r = try Self.replay(["--kafka-topic", s.topic, "--brokers", brokers, "--out", s.dir.appendingPathComponent("r").path] + frozen + extra)
            #expect(r.status == 0, "\(r.stderr)")
            let summary = try JSONSerialization.jsonObject(with: Data(r.stdout.split(separator: "\n").first.map { Data($0.utf8) } ?? Data())) as? [String: Any]
            return summary?["events"] as? Int
        }
        #expect(try events(["--from-offset", "100", "--to-offset", "700"]) == valid.filter { (100..<700).contains($0.offset) }.count)
        #expect(try events(["--partitions", "0", "--to-offset", "500"]) == valid.filter { $0.partition == 0 && $0.offset < 500 }.count)
        let times = valid.map(\.ts).sorted()
        let (from, to) = (times[times.count / 3], times[2 * times.count / 3])
        #expect(try events(["--from-time", "\(from)", "--to-time", "\(to)"]) == valid.filter { $0.ts >= from && $0.ts < to }.count)
    }

    @Test("a partition holding a single batch is read whole, a range past the log end is empty, and an unknown topic is an error")
    func singleBatch() async throws {
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("replay-one")
        try KafkaTestSupport.createTopic(topic, partitions: 1, brokers: brokers)
        let producer = try KafkaTestSupport.producer(brokers: brokers)
        var n = 0
        for case .transaction(let t) in TransactionSimulator(configuration: SimulatorConfiguration(), maxTransactions: 150) {
            _ = try producer.send(KafkaProducerMessage(topic: topic, partition: 0, value: Array(t.json(truth: true).utf8)))
            n += 1
        }
        try await producer.flush(timeout: .seconds(30))
        try await producer.close()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent(topic).path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let whole = try Self.replay(["--kafka-topic", topic, "--brokers", brokers, "--freeze", "--warm-up", "64", "--out", out, "--quiet"])
        #expect(whole.status == 0, "\(whole.stderr)")
        #expect(whole.stdout.contains(#""events":\#(n),"#), "\(whole.stdout)")
        let past = try Self.replay(["--kafka-topic", topic, "--brokers", brokers, "--from-offset", "1000", "--freeze", "--out", out, "--quiet"])
        #expect(past.status == 2)
        #expect(past.stderr.contains("no events"))
        // A topic the broker does not know is an error naming it, not an empty replay.
        let missing = KafkaTestSupport.uniqueName("replay-missing")
        let absent = try Self.replay(["--kafka-topic", missing, "--brokers", brokers, "--freeze", "--out", out, "--quiet"])
        #expect(absent.status != 0)
        #expect(absent.stderr.contains("cannot list the partitions of \(missing)"), "\(absent.stderr)")
    }

    static func replay(_ arguments: [String]) throws -> ChildProcessResult {
        try ChildProcess.vigil(["replay"] + arguments)
    }
}
