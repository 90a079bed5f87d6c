// Reads events (JSONL contract or mapped CSV) and optional labels files into a ReplayInput.
import Foundation
import Synchronization
import VigilFeatures

/// Reads replay input files. JSONL lines go through the service's own `EventDecoder` (the
/// event contract); CSV rows through a `CSVColumnMapping`. Malformed rows are reported with
/// their line numbers and skipped or fatal per `onMalformed`.
public struct ReplayInputReader: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        case jsonl, csv
        /// From the file name's extension (`.csv` is CSV, anything else JSONL).
        public static func guess(path: String) -> Format { path.lowercased().hasSuffix(".csv") ? .csv : .jsonl }
    }

    public var mapping: CSVColumnMapping
    public var onMalformed: MalformedRowPolicy
    /// Threads decoding a large JSONL file (parts joined in file order). Default: the active processors, at most 4.
    public var decodeThreads = min(4, ProcessInfo.processInfo.activeProcessorCount)
    /// Currency for CSV rows without a currency column. Default: EUR.
    public var defaultCurrency = "EUR"
    let decoder = EventDecoder()

    public init(mapping: CSVColumnMapping = CSVColumnMapping(), onMalformed: MalformedRowPolicy = .skip) {
        self.mapping = mapping
        self.onMalformed = onMalformed
    }

    /// Reads the events file and, if given, the labels file (`vigil gen`'s labels.jsonl/csv).
    public func read(events path: String, format: Format? = nil, labels labelsPath: String? = nil) throws -> ReplayInput {
        var input = ReplayInput()
        let data = try Self.load(path)
        try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) throws in
            switch format ?? .guess(path: path) {
            case .jsonl: try readJSONLInParallel(bytes, file: path, into: &input)
            case .csv: try readCSV(bytes, file: path, into: &input)
            }
        }
        if let labelsPath { try read(labels: labelsPath, into: &input) }
        return input
    }

    /// Adds the labels of a labels file (JSONL or CSV by its extension) to `input`.
    public func read(labels path: String, into input: inout ReplayInput) throws {
        let labels = try Self.load(path)
        try labels.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) throws in
            try readLabels(bytes, file: path, csv: Format.guess(path: path) == .csv, into: &input)
        }
    }

    static func load(_ path: String) throws -> Data {
        do { return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw ReplayError(.io, "cannot read \(path): \(error.localizedDescription)")
        }
    }

    func problem(_ input: inout ReplayInput, _ file: String, _ line: Int, _ reason: String) throws {
        let p = InputProblem(file: file, line: line, reason: reason)
        if onMalformed == .fail { throw ReplayError(.malformedInput, "malformed row: \(p)") }
        input.problems.append(p)
    }

    // MARK: JSONL

    /// Splits the file at line boundaries into `decodeThreads` parts decoded concurrently, then
    /// joins them in file order (line numbers continue across parts), so the result is the
    /// same as one sequential pass. Each part decodes straight into its own region of the
    /// final events array (sized by its line count), and the regions are then moved together:
    /// appending and joining per-part arrays copied (and retained) every event twice.
    func readJSONLInParallel(_ bytes: UnsafeRawBufferPointer, file: String, into input: inout ReplayInput) throws {
        let parts = bytes.count < 1 << 20 ? 1 : max(1, decodeThreads)
        guard parts > 1, let base = bytes.baseAddress, input.events.isEmpty else { return try readJSONL(bytes, file: file, into: &input) }
        // Part boundaries just after a newline, and the lines in each part.
        var cuts = [0]
        for p in 1..<parts {
            let target = max(cuts[p - 1], bytes.count * p / parts)
            let cut = memchr(base + target, 0x0A, bytes.count - target).map { base.distance(to: UnsafeRawPointer($0)) + 1 } ?? bytes.count
            cuts.append(cut)
        }
        cuts.append(bytes.count)
        var lineCounts: [Int] = []
        for p in 0..<parts {
            var lines = 0, i = cuts[p]
            while i < cuts[p + 1], let hit = memchr(base + i, 0x0A, cuts[p + 1] - i) {
                lines += 1
                i = base.distance(to: UnsafeRawPointer(hit)) + 1
            }
            if i < cuts[p + 1] { lines += 1 }  // a last line without a newline
            lineCounts.append(lines)
        }
        var firstLines = [0], regions = [0]
        for p in 1...parts {
            firstLines.append(firstLines[p - 1] + lineCounts[p - 1])
            regions.append(regions[p - 1] + lineCounts[p - 1])
        }
        let capacity = regions[parts]
        // Per part: events initialised at the start of its region, its truth and its problems.
        let results = Mutex<[Int: Result<(events: Int, truth: [Truth], problems: [InputProblem]), ReplayError>]>([:])
        let address = UInt(bitPattern: base)  // the mapped file outlives the concurrent loop
        let (partCuts, partLines, partRegions) = (cuts, firstLines, regions)
        var failure: ReplayError?
        var truth: [Truth] = [], problems: [InputProblem] = []
        truth.reserveCapacity(capacity)
        let events = [TransactionEvent](unsafeUninitializedCapacity: capacity) { buffer, initialized in
            let target = UInt(bitPattern: buffer.baseAddress)  // each part writes only its own region
            DispatchQueue.concurrentPerform(iterations: parts) { p in
                let chunk = UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: address)! + partCuts[p], count: partCuts[p + 1] - partCuts[p])
                let region = UnsafeMutablePointer<TransactionEvent>(bitPattern: target)! + partRegions[p]
                let room = partRegions[p + 1] - partRegions[p]
                var written = 0, partTruth: [Truth] = [], partProblems: [InputProblem] = []
                partTruth.reserveCapacity(room)
                let outcome: Result<(events: Int, truth: [Truth], problems: [InputProblem]), ReplayError>
                do {
                    try decodeJSONL(chunk, file: file, lineOffset: partLines[p], problems: &partProblems) { (event: consuming TransactionEvent, t) in
                        precondition(written < room, "more events than lines in a part")
                        (region + written).initialize(to: event)  // moved in (consumed), not copied
                        written += 1
                        partTruth.append(t)
                    }
                    outcome = .success((written, partTruth, partProblems))
                } catch {
                    (region).deinitialize(count: written)
                    outcome = .failure(error as? ReplayError ?? ReplayError(.io, "\(error)"))
                }
                results.withLock { $0[p] = outcome }
            }
            // Join the regions in file order (moves, no copies); on a failure keep nothing.
            let all = results.withLock { $0 }
            var joined = 0
            for p in 0..<parts {
                switch all[p]! {
                case .success(let part):
                    if failure == nil {
                        (buffer.baseAddress! + joined).moveInitialize(from: buffer.baseAddress! + partRegions[p], count: part.events)
                        joined += part.events
                        truth += part.truth
                        problems += part.problems
                    } else {
                        (buffer.baseAddress! + partRegions[p]).deinitialize(count: part.events)
                    }
                case .failure(let e):
                    if failure == nil {
                        failure = e
                        buffer.baseAddress!.deinitialize(count: joined)
                        joined = 0
                    }
                }
            }
            initialized = joined
        }
        if let failure { throw failure }
        input.events = events
        input.truth += truth
        input.problems += problems
    }

    func readJSONL(_ bytes: UnsafeRawBufferPointer, file: String, into input: inout ReplayInput, lineOffset: Int = 0) throws {
        try decodeJSONL(bytes, file: file, lineOffset: lineOffset, problems: &input.problems) { (event: consuming TransactionEvent, truth) in
            input.events.append(event)
            input.truth.append(truth)
        }
    }

    /// Decodes each line, handing over the event and its ground truth; malformed lines are
    /// reported (or fatal) with their line numbers.
    func decodeJSONL(_ bytes: UnsafeRawBufferPointer, file: String, lineOffset: Int, problems: inout [InputProblem],
                     _ emit: (consuming TransactionEvent, Truth) -> Void) throws {
        try forEachLine(bytes) { (line, localNumber) throws in
            let number = localNumber + lineOffset
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
            do {
                emit(try decoder.decode(line), Self.truth(inJSON: line))
            } catch {
                let p = InputProblem(file: file, line: number, reason: (error as? EventRejection)?.reason ?? "\(error)")
                if onMalformed == .fail { throw ReplayError(.malformedInput, "malformed row: \(p)") }
                problems.append(p)
            }
        }
    }

    /// Ground truth carried by a JSONL event: `"fraud":true|false` (`vigil gen --truth`) or
    /// `"label":"fraud"|"legit"`. The decoder has validated the line; this only looks for the keys.
    static func truth(inJSON line: UnsafeRawBufferPointer) -> Truth {
        for (key, values) in truthKeys {
            guard let at = find(key, in: line) else { continue }
            var i = at + key.count
            while i < line.count, line[i] == 0x20 { i += 1 }
            for (t, truth) in values where i + t.count <= line.count && t.indices.allSatisfy({ line[i + $0] == t[$0] }) {
                return truth
            }
        }
        return .unknown
    }

    /// Keys and values of ground truth as bytes, built once (not per line).
    private static let truthKeys: [([UInt8], [([UInt8], Truth)])] = [
        (Array(#""fraud":"#.utf8), [(Array("true".utf8), .fraud), (Array("false".utf8), .legit)]),
        (Array(#""label":"#.utf8), [(Array(#""fraud""#.utf8), .fraud), (Array(#""legit""#.utf8), .legit)]),
    ]

    /// The first occurrence of `needle`: memchr for its second byte, memcmp for the whole
    /// (memmem is a GNU extension Swift does not see). The keys start with a quote, which a JSON
    /// line has dozens of; their second byte is rare, so far fewer candidates are compared.
    /// Candidates come in order of position, so the first match is the first occurrence.
    static func find(_ needle: [UInt8], in hay: UnsafeRawBufferPointer) -> Int? {
        guard let base = hay.baseAddress, hay.count >= needle.count, !needle.isEmpty else { return nil }
        let anchor = needle.count > 1 ? 1 : 0
        return needle.withUnsafeBytes { n -> Int? in
            var i = anchor
            let last = hay.count - n.count + anchor  // the last position the anchor byte can take
            while i <= last, let hit = memchr(base + i, Int32(n[anchor]), last - i + 1) {
                let at = base.distance(to: UnsafeRawPointer(hit)) - anchor
                if memcmp(base + at, n.baseAddress!, n.count) == 0 { return at }
                i = at + anchor + 1
            }
            return nil
        }
    }

    // MARK: Labels

    func readLabels(_ bytes: UnsafeRawBufferPointer, file: String, csv: Bool, into input: inout ReplayInput) throws {
        var fields: [String] = []
        var header: [String: Int]?
        try forEachLine(bytes) { (line, number) throws in
            if line.isEmpty { return }
            guard csv else {
                do { input.labels.append(try decoder.decodeLabel(line)) } catch { try problem(&input, file, number, (error as? EventRejection)?.reason ?? "\(error)") }
                return
            }
            guard CSVLineSplitter.split(line, into: &fields) else { return try problem(&input, file, number, "unterminated quote") }
            guard let h = header else {
                header = Dictionary(fields.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
                for column in ["event_id", "label", "ts"] where header?[column] == nil {
                    throw ReplayError(.malformedInput, "\(file): labels header lacks the column \(column)")
                }
                return
            }
            guard fields.count == h.count else { return try problem(&input, file, number, "expected \(h.count) fields, got \(fields.count)") }
            let id = fields[h["event_id"]!], label = fields[h["label"]!]
            guard !id.isEmpty else { return try problem(&input, file, number, "empty event_id") }
            guard let isFraud = Self.parseLabel(label) else { return try problem(&input, file, number, "label '\(label)' is not fraud or legit") }
            guard let ts = Self.parseTime(fields[h["ts"]!], unitMillis: 1) else {
                return try problem(&input, file, number, "ts '\(fields[h["ts"]!])' is not a time")
            }
            input.labels.append(LabelEvent(eventID: id, isFraud: isFraud, timestampMillis: ts))
        }
    }

    static func parseLabel(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "1", "true", "fraud", "yes": true
        case "0", "false", "legit", "no": false
        default: nil
        }
    }

    static func parseTime(_ text: String, unitMillis: Double) -> Int64? {
        if let value = Double(text), value.isFinite {
            let ms = value * unitMillis
            guard ms >= 0, ms <= Double(EventTimestamp.maxMillis) else { return nil }
            return Int64(ms)
        }
        return EventTimestamp.parseRFC3339(Array(text.utf8))
    }
}
