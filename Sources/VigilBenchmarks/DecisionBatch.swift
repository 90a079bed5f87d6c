// Deterministic decision rows for the postgres benchmark, held in memory (for
// VigilPostgres COPY) and writable as a COPY text file (for psql \copy).
import Foundation
import VigilPostgres

struct DecisionBatch: Sendable {
    let count: Int
    let day: Date
    let eventIDs: [String]
    let cards: [String]
    let merchants: [String]
    /// `decisions.reasons` as the sink writes them (compact text).
    let reasonsChoices = [
        "",
        "r:amount=4.2",
        "c:card.new_merchant=0.31;r:time.hour_sin=1.12",
    ]

    init(count: Int) {
        self.count = count
        // Midnight UTC today, so every row falls into today's partition.
        day = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
        eventIDs = (0..<count).map { "evt-\($0)" }
        cards = (0..<count).map { "card-\($0 &* 7919 % 50_000)" }
        merchants = (0..<2000).map { "m-\($0)" }
    }

    /// Microseconds after midnight: 10 µs apart, starting one minute in.
    func microsecondOfDay(_ i: Int) -> Int64 { 60_000_000 + Int64(i) * 10 }
    func risk(_ i: Int) -> Float { Float(i % 1000) / 1000 }
    func decision(_ i: Int) -> String { risk(i) >= 0.98 ? "block" : (risk(i) >= 0.9 ? "review" : "allow") }
    func amount(_ i: Int) -> Double { Double(i % 10_000) / 100 + 1 }
    func feature(_ i: Int, _ k: Int) -> Float { Float((i &+ k &* 31) % 97) / 8 }

    /// One decision in a thousand is alerted and keeps its feature vector, as the sink writes them.
    func keepsFeatures(_ i: Int) -> Bool { i % 1000 == 999 }

    /// The rows in `PostgresBenchmark.columns` order (the sink's canonical decision columns).
    func write(to writer: inout PostgresCopyWriter) throws {
        let base = day.timeIntervalSince1970
        var features = [Float](repeating: 0, count: 8)
        for i in 0..<count {
            let decided = Date(timeIntervalSince1970: base + Double(microsecondOfDay(i)) / 1e6)
            writer.beginRow()
            try writer.append(decided.addingTimeInterval(-0.01))
            writer.append(Int64(i / 8))
            try writer.append(decided.addingTimeInterval(-0.05))
            try writer.append(decided)
            writer.append(amount(i))
            writer.append(Int64(1))
            writer.append(Int32(i % 8))
            writer.append(risk(i))
            writer.append(risk(i))
            writer.append(risk(i))
            try writer.append("transactions")
            try writer.append(eventIDs[i])
            try writer.append(cards[i])
            try writer.append(merchants[i % merchants.count])
            try writer.append("EUR")
            try writer.append(decision(i))
            try writer.append(reasonsChoices[i % 3])
            if keepsFeatures(i) {
                for k in 0..<8 { features[k] = feature(i, k) }
                writer.append(floats: features)
            } else {
                writer.appendNull()
            }
            try writer.endRow()
        }
    }

    /// The same rows in COPY text format (tab-separated; no value needs escaping).
    func writeTextCopyFile(to url: URL) throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        let datePrefix = formatter.string(from: day)
        func timestamp(_ micros: Int64) -> String {
            let seconds = micros / 1_000_000, fraction = micros % 1_000_000
            let fractionText = String(fraction)
            return "\(datePrefix) \(two(seconds / 3600)):\(two(seconds / 60 % 60)):\(two(seconds % 60)).\(String(repeating: "0", count: 6 - fractionText.count))\(fractionText)+00"
        }
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }

        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown)
        }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        var chunk = ""
        chunk.reserveCapacity(4 << 20)
        for i in 0..<count {
            let micros = microsecondOfDay(i)
            let risk = risk(i).description
            let features = (0..<8).map { feature(i, $0).description }.joined(separator: ",")
            chunk += "\(timestamp(micros - 10_000))\t\(i / 8)\t\(timestamp(micros - 50_000))\t\(timestamp(micros))\t\(amount(i).description)\t1\t\(i % 8)\t"
            chunk += "\(risk)\t\(risk)\t\(risk)\ttransactions\t\(eventIDs[i])\t\(cards[i])\t\(merchants[i % merchants.count])\tEUR\t"
            chunk += "\(decision(i))\t\(reasonsChoices[i % 3])\t\(keepsFeatures(i) ? "{\(features)}" : "\\N")\n"
            if chunk.utf8.count >= 4 << 20 {
                handle.write(Data(chunk.utf8))
                chunk.removeAll(keepingCapacity: true)
            }
        }
        handle.write(Data(chunk.utf8))
    }
}
