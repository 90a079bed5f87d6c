// `tools/bench features`: event decoding and feature extraction on one core, each next to a
// plain loop over the same data in the same run, and the memory the card state costs.
import ArgumentParser
import Foundation
import Synchronization
import VigilFeatures

struct FeaturesBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Decode rate vs a byte loop and JSONDecoder; extraction rate with 1,000,000 cards in state; bytes per card."
    )

    @Option(help: "Distinct cards (and events per pass).")
    var cards = 1_000_000

    @Flag(help: "Do not size the card table up front (shows the growth transient in peak memory).")
    var growOnDemand = false

    @Option(help: "Events decoded by Foundation's JSONDecoder (the reference; it is slow).")
    var jsonDecoderEvents = 200_000

    /// The same fields as the contract, for Foundation's JSONDecoder.
    struct FoundationEvent: Decodable {
        var event_id: String
        var ts: String
        var card_id: String
        var merchant_id: String
        var amount: Double
        var currency: String
        var mcc: String?
        var country: String?
        var channel: String?
        var terminal_id: String?
    }

    func run() throws {
        let rssStart = Self.peakRSS()
        // Payloads in one buffer, as a consumer batch would hold them.
        var buffer: [UInt8] = []
        var offsets: [Int] = [0]
        buffer.reserveCapacity(cards * 210)
        let countries = ["FR", "DE", "BE", "NL", "IT", "ES"], channels = ["pos", "online", "atm"]
        for i in 0..<cards {
            let ms = 1_772_323_200_000 + Int64(i) * 50
            let text = #"{"event_id":"ev-\#(String(i, radix: 16))-\#(i % 9973)","ts":"\#(EventTimestamp.formatRFC3339(ms))","card_id":"card-\#(i)","merchant_id":"m-\#(i % 20_000)","amount":\#(Double(i % 50_000) / 100 + 1),"currency":"EUR","mcc":"\#(5000 + i % 300)","country":"\#(countries[i % 6])","channel":"\#(channels[i % 3])","terminal_id":"t-\#(i % 40_000)"}"#
            buffer.append(contentsOf: text.utf8)
            offsets.append(buffer.count)
        }
        let meanSize = Double(buffer.count) / Double(cards)
        print("payloads: \(cards) events, mean \(String(format: "%.0f", meanSize)) bytes")

        // 1. Plain loop: sum every byte of every payload.
        var checksum: UInt64 = 0
        let loopSeconds = Self.time {
            for i in 0..<cards {
                var s: UInt64 = 0
                for byte in buffer[offsets[i]..<offsets[i + 1]] { s &+= UInt64(byte) }
                checksum &+= s
            }
        }
        let loopRate = Double(cards) / loopSeconds
        print("byte-sum loop:       \(BenchReport.rate(loopRate)) (checksum \(checksum % 1000))")

        // 2. Vigil's decoder, into a reused batch of 500 events as a consumer would (decoding into
        // one 1,000,000-event array would mostly measure first-touch page faults).
        let decoder = EventDecoder()
        var batch: [TransactionEvent] = []
        batch.reserveCapacity(500)
        var rejected = 0
        var amounts = 0.0
        let decodeSeconds = Self.time {
            for i in 0..<cards {
                do { batch.append(try decoder.decode(buffer[offsets[i]..<offsets[i + 1]])) } catch { rejected += 1 }
                if batch.count == 500 {
                    amounts += batch[499].amount
                    batch.removeAll(keepingCapacity: true)
                }
            }
        }
        guard rejected == 0 else { throw ValidationError("\(rejected) benchmark events were rejected") }
        let decodeRate = Double(cards) / decodeSeconds
        let decodeCPURate = Double(cards) / lastCPU()
        print("EventDecoder:        \(BenchReport.rate(decodeRate)) (\(String(format: "%.0f", decodeRate * meanSize / 1e6)) MB/s); per CPU-second \(BenchReport.rate(decodeCPURate)) (\(amounts > 0))")
        // Untimed: keep every event for the extraction passes.
        var events: [TransactionEvent] = []
        events.reserveCapacity(cards)
        for i in 0..<cards {
            if let e = try? decoder.decode(buffer[offsets[i]..<offsets[i + 1]]) { events.append(e) }
        }

        // 3. Foundation's JSONDecoder on a prefix of the same payloads.
        let n = min(jsonDecoderEvents, cards)
        let slices = (0..<n).map { Data(buffer[offsets[$0]..<offsets[$0 + 1]]) }
        let json = JSONDecoder()
        var decoded = 0
        let foundationSeconds = try Self.time {
            for data in slices { decoded += try json.decode(FoundationEvent.self, from: data).amount > 0 ? 1 : 0 }
        }
        let foundationRate = Double(n) / foundationSeconds
        let foundationCPURate = Double(n) / lastCPU()
        print("JSONDecoder:         \(BenchReport.rate(foundationRate)); per CPU-second \(BenchReport.rate(foundationCPURate))")

        // 4. Feature extraction: first pass fills the state with every card, second is measured.
        let rssBeforeState = Self.peakRSS()
        var extractor = try FeatureExtractor(spec: .standard, configuration: FeatureStateConfiguration(maxCards: cards * 2, expectedCards: growOnDemand ? 0 : cards))
        var vector = extractor.makeVector()
        var sink: Float = 0
        let fillSeconds = Self.time {
            for e in events {
                extractor.extract(e, into: &vector)
                sink += vector.dense[0]
            }
        }
        let memory = extractor.memory
        let rssAfterState = Self.peakRSS()
        // Second pass an hour later, cards visited in a scattered order (cache-unfriendly, as in life).
        var later = events
        let stride = 7919 % cards == 0 ? 1 : 7919
        for i in 0..<cards {
            later[i] = events[(i * stride) % cards]
            later[i].timestampMillis = events[i].timestampMillis + 3_600_000
        }
        let extractSeconds = Self.time {
            for e in later {
                extractor.extract(e, into: &vector)
                sink += vector.dense[0]
            }
        }
        let extractRate = Double(cards) / extractSeconds
        let extractCPURate = Double(cards) / lastCPU()
        // Third pass another hour later, in consumer-sized batches of 500 (batched extraction
        // overlaps the card-table cache misses of a group of events).
        for i in 0..<cards { later[i].timestampMillis += 3_600_000 }
        var vectors: [FeatureVector] = []
        let batchSeconds = Self.time {
            var start = 0
            while start < cards {
                let end = min(start + 500, cards)
                extractor.extract(batch: later[start..<end], into: &vectors)
                sink += vectors[0].dense[0]
                start = end
            }
        }
        let batchRate = Double(cards) / batchSeconds
        let batchCPURate = Double(cards) / lastCPU()
        // Reference for extraction: a plain loop over the same decoded events reading what it reads.
        var plain: Double = 0
        let plainSeconds = Self.time {
            for e in later { plain += e.amount + Double(e.cardID.utf8.count + e.merchantID.utf8.count) }
        }
        let plainRate = Double(cards) / plainSeconds
        print("extract batched (500/batch): \(BenchReport.rate(batchRate)), per CPU-second \(BenchReport.rate(batchCPURate))")
        print("extract (fill):      \(BenchReport.rate(Double(cards) / fillSeconds)) while inserting \(cards) cards")
        print("extract (\(memory.cards) cards in state): \(BenchReport.rate(extractRate)), per CPU-second \(BenchReport.rate(extractCPURate)); plain loop over the events \(BenchReport.rate(plainRate)) (sink \(sink.isFinite), \(plain > 0))")
        let rssPerCard = Double(rssAfterState - rssBeforeState) / Double(memory.cards)
        print("card state: \(String(format: "%.1f", memory.bytesPerCard)) bytes/card in the table (CardState stride \(MemoryLayout<CardState>.stride) + 8-byte key, load factor included); peak RSS growth \(String(format: "%.1f", rssPerCard)) bytes/card incl. merchants/terminals/recent-event index; process peak RSS \((Self.peakRSS() - rssStart) / 1_048_576) MiB above start")

        try BenchReport.finish([
            "bench": "features",
            "events": cards,
            "payload_bytes_mean": meanSize.rounded(),
            "decode_per_s": decodeRate.rounded(),
            "decode_per_cpu_s": decodeCPURate.rounded(),
            "decode_jsondecoder_per_cpu_s": foundationCPURate.rounded(),
            "extract_per_cpu_s": extractCPURate.rounded(),
            "extract_batched_per_s": batchRate.rounded(),
            "extract_batched_per_cpu_s": batchCPURate.rounded(),
            "decode_baseline_bytesum_per_s": loopRate.rounded(),
            "decode_jsondecoder_per_s": foundationRate.rounded(),
            "decode_ratio_vs_jsondecoder": (decodeRate / foundationRate * 100).rounded() / 100,
            "ratio": (decodeRate / loopRate * 1000).rounded() / 1000,
            "extract_per_s": extractRate.rounded(),
            "extract_baseline_plain_loop_per_s": plainRate.rounded(),
            "extract_ratio": (extractRate / plainRate * 1000).rounded() / 1000,
            "cards_in_state": memory.cards,
            "bytes_per_card_table": (memory.bytesPerCard * 10).rounded() / 10,
            "bytes_per_card_peak_rss": (rssPerCard * 10).rounded() / 10,
            "card_table_presized": !growOnDemand,
            "targets": "decode >= 1000000/s, extract >= 1000000/s with 1000000 cards, <= 200 bytes/card",
        ])
        _ = decoded
    }

    /// Wall-clock seconds of `body`; its CPU seconds on this thread go to `lastCPUSeconds`.
    static func time<T>(_ body: () throws -> T) rethrows -> Double {
        let cpuStart = threadCPUSeconds()
        let start = ContinuousClock.now
        _ = try body()
        let d = ContinuousClock.now - start
        lastCPUSeconds.withLock { $0 = threadCPUSeconds() - cpuStart }
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    func lastCPU() -> Double { Self.lastCPUSeconds.withLock { max($0, 1e-9) } }

    static let lastCPUSeconds = Mutex<Double>(0)

    /// CPU time of the calling thread: on a machine shared with other builds, the rate per
    /// CPU-second is the fairer "one core" figure; both are reported.
    static func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Peak resident set size (VmHWM) of this process in bytes, from /proc.
    static func peakRSS() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
    }
}
