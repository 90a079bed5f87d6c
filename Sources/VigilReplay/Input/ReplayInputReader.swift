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
        switch format ?? .guess(path: path) {
        case .jsonl: try readJSONLInParallel(data.span, file: path, into: &input)
        case .csv: try readCSV(data.span, file: path, into: &input)
        }
        if let labelsPath { try read(labels: labelsPath, into: &input) }
        return input
    }

    /// Adds the labels of a labels file (JSONL or CSV by its extension) to `input`.
    public func read(labels path: String, into input: inout ReplayInput) throws {
        let labels = try Self.load(path)
        try readLabels(labels.span, file: path, csv: Format.guess(path: path) == .csv, into: &input)
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

    /// What one part of a JSONL file decoded to: its events (in file order), their truth, and
    /// its problems (with line numbers of the whole file).
    struct DecodedPart: Sendable {
        var events: [TransactionEvent] = []
        var truth: [Truth] = []
        var problems: [InputProblem] = []
    }

    /// Splits the file at line boundaries into `decodeThreads` parts decoded concurrently, then
    /// joins them in file order (line numbers continue across parts), so the result is the
    /// same as one sequential pass. The lines of each part are counted first (concurrently
    /// too), so each part's arrays are allocated once and the first part's array has room for
    /// every event: the join appends the later parts to it, copying their events once. That
    /// copy runs on one thread after the parts: about 80 ms for the later half of 1M events on
    /// 2 cores (faulting in the rest of the first array, the copy, freeing the part's array),
    /// which writing every part in place through a pointer into the final array did not cost.
    func readJSONLInParallel(_ bytes: Span<UInt8>, file: String, into input: inout ReplayInput) throws {
        let parts = bytes.count < 1 << 20 ? 1 : max(1, decodeThreads)
        guard parts > 1, input.events.isEmpty else { return try readJSONL(bytes, file: file, into: &input) }
        // Part boundaries just after a newline.
        var cuts = [0]
        for p in 1..<parts {
            let target = max(cuts[p - 1], bytes.count * p / parts)
            cuts.append(bytes.firstIndex(of: 0x0A, in: target..<bytes.count).map { $0 + 1 } ?? bytes.count)
        }
        cuts.append(bytes.count)
        let partCuts = cuts
        // The lines in each part (a last line without a newline counts), for line numbers and capacities.
        let counted = Mutex([Int](repeating: 0, count: parts))
        DispatchQueue.concurrentPerform(iterations: parts) { p in
            var lines = 0, i = partCuts[p]
            let end = partCuts[p + 1]
            while i < end, let hit = bytes.firstIndex(of: 0x0A, in: i..<end) {
                lines += 1
                i = hit + 1
            }
            if i < end { lines += 1 }
            counted.withLock { $0[p] = lines }
        }
        let lineCounts = counted.withLock { $0 }
        var firstLines = [0]
        for p in 1...parts { firstLines.append(firstLines[p - 1] + lineCounts[p - 1]) }
        let partLines = firstLines, allLines = firstLines[parts]

        let results = Mutex([Result<DecodedPart, ReplayError>?](repeating: nil, count: parts))
        DispatchQueue.concurrentPerform(iterations: parts) { p in
            var part = DecodedPart()
            part.events.reserveCapacity(p == 0 ? allLines : lineCounts[p])  // the first part's array becomes the whole
            part.truth.reserveCapacity(p == 0 ? allLines : lineCounts[p])
            let outcome: Result<DecodedPart, ReplayError>
            do {
                try decodeJSONL(bytes.extracting(partCuts[p]..<partCuts[p + 1]), file: file, lineOffset: partLines[p], problems: &part.problems) {
                    (event: consuming TransactionEvent, t) in
                    part.events.append(event)
                    part.truth.append(t)
                }
                outcome = .success(part)
            } catch {
                outcome = .failure(error as? ReplayError ?? ReplayError(.io, "\(error)"))
            }
            results.withLock { $0[p] = outcome }
        }
        // Join in file order; the first failure (in file order) is the error, as in one sequential pass.
        var decoded = results.withLock { slots in
            var taken: [Result<DecodedPart, ReplayError>?] = []
            swap(&taken, &slots)
            return taken
        }
        var joined = DecodedPart()
        for p in 0..<parts {
            switch decoded[p].take()! {
            case .failure(let e): throw e
            case .success(var part):
                if p == 0 {
                    swap(&joined, &part)  // no copy: this array has room for every part
                } else {
                    joined.events.append(contentsOf: part.events)
                    joined.truth.append(contentsOf: part.truth)
                    joined.problems.append(contentsOf: part.problems)
                }
            }
        }
        input.events = joined.events
        input.truth += joined.truth
        input.problems += joined.problems
    }

    func readJSONL(_ bytes: Span<UInt8>, file: String, into input: inout ReplayInput, lineOffset: Int = 0) throws {
        try decodeJSONL(bytes, file: file, lineOffset: lineOffset, problems: &input.problems) { (event: consuming TransactionEvent, truth) in
            input.events.append(event)
            input.truth.append(truth)
        }
    }

    /// Decodes each line, handing over the event and its ground truth; malformed lines are
    /// reported (or fatal) with their line numbers.
    func decodeJSONL(_ bytes: Span<UInt8>, file: String, lineOffset: Int, problems: inout [InputProblem],
                     _ emit: (consuming TransactionEvent, Truth) -> Void) throws {
        try forEachLine(bytes) { (line, localNumber) throws in
            let number = localNumber + lineOffset
            if line.isBlank(0..<line.count) { return }
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
    static func truth(inJSON line: Span<UInt8>) -> Truth {
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

    /// The first occurrence of `needle`: a word-at-a-time search for its second byte, then a
    /// comparison of the whole. The keys start with a quote, which a JSON line has dozens of;
    /// their second byte is rare, so far fewer candidates are compared. Candidates come in
    /// order of position, so the first match is the first occurrence.
    static func find(_ needle: [UInt8], in hay: Span<UInt8>) -> Int? {
        guard hay.count >= needle.count, !needle.isEmpty else { return nil }
        let anchor = needle.count > 1 ? 1 : 0
        var i = anchor
        let last = hay.count - needle.count + anchor  // the last position the anchor byte can take
        while i <= last, let hit = hay.firstIndex(of: needle[anchor], in: i..<last + 1) {
            let at = hit - anchor
            if needle.indices.allSatisfy({ hay[at + $0] == needle[$0] }) { return at }
            i = hit + 1
        }
        return nil
    }

    // MARK: Labels

    func readLabels(_ bytes: Span<UInt8>, file: String, csv: Bool, into input: inout ReplayInput) throws {
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
        return EventTimestamp.parseRFC3339(text)
    }
}
