// Input that arrives as separate messages (a Kafka topic range) rather than a file: each
// message decoded like a JSONL line, then all put in one reproducible order.
import VigilFeatures

/// Where a message came from: its partition and offset (the replay order's tie-breakers).
public struct MessagePosition: Sendable, Hashable, Comparable {
    public var partition: Int32
    public var offset: Int64

    public init(partition: Int32, offset: Int64) {
        self.partition = partition
        self.offset = offset
    }

    public static func < (a: Self, b: Self) -> Bool { (a.partition, a.offset) < (b.partition, b.offset) }
}

extension ReplayInputReader {
    /// Decodes one event message (the event contract, ground truth as in JSONL). A malformed
    /// one is reported as `<source>[partition]@offset` and skipped, or thrown per `onMalformed`.
    public func decodeEventMessage(_ bytes: ArraySlice<UInt8>, source: String, at position: MessagePosition,
                                   into input: inout ReplayInput, positions: inout [MessagePosition]) throws {
        do {
            let event = try decoder.decode(bytes)
            input.events.append(event)
            input.truth.append(Self.truth(inJSON: bytes.span))
            positions.append(position)
        } catch {
            try messageProblem(&input, source, position, error.reason)
        }
    }

    /// Decodes one label message (the label contract).
    public func decodeLabelMessage(_ bytes: ArraySlice<UInt8>, source: String, at position: MessagePosition,
                                   into input: inout ReplayInput) throws {
        do { input.labels.append(try decoder.decodeLabel(bytes)) } catch {
            try messageProblem(&input, source, position, error.reason)
        }
    }

    private func messageProblem(_ input: inout ReplayInput, _ source: String, _ position: MessagePosition, _ reason: String) throws {
        let p = InputProblem(file: "\(source)[\(position.partition)]@\(position.offset)", line: 0, reason: reason)
        if onMalformed == .fail { throw ReplayError(.malformedInput, "malformed message: \(p)") }
        input.problems.append(p)
    }
}

extension ReplayInput {
    /// Puts events in the replay order of a topic range: by event time, then partition, then
    /// offset. Partitions of a topic have no order between them, and this one depends only on
    /// what the range holds, so two replays of the same range see the same sequence.
    public mutating func sortByEventTime(positions: [MessagePosition]) {
        precondition(positions.count == events.count, "one position per event")
        let order = events.indices.sorted { a, b in
            let ta = events[a].timestampMillis, tb = events[b].timestampMillis
            return ta != tb ? ta < tb : positions[a] < positions[b]
        }
        events = order.map { events[$0] }
        truth = order.map { truth[$0] }
    }
}
