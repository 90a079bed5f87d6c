// When each label becomes visible during a replay: the guard against leaking the future.
import VigilFeatures

/// Labels ordered by the moment they may be released. The clock is the index of the last
/// scored event (delays in events) or the latest event time scored (event-time and recorded
/// delays). A label is released only once its clock key is reached AND its own event has been
/// scored, so no event is ever scored after its own label (or a later one) was seen.
struct LabelSchedule {
    struct Pending {
        var key: Int64
        var eventIndex: Int
        var label: LabelEvent
    }

    private(set) var pending: [Pending] = []
    private var next = 0
    let countsEvents: Bool
    /// Labels naming no event of the input.
    private(set) var unmatched = 0

    init(input: ReplayInput, delay: LabelDelay) throws {
        countsEvents = if case .events = delay { true } else { false }
        if input.labels.isEmpty {
            if delay == .recorded { throw ReplayError(.invalidConfiguration, "a recorded label delay needs a labels file") }
            for (i, t) in input.truth.enumerated() where t != .unknown {
                let e = input.events[i]
                let key: Int64 = switch delay {
                case .events(let n): Int64(i + n - 1)
                case .eventTime(let ms): e.timestampMillis &+ ms
                case .recorded: 0
                }
                let ts = countsEvents ? e.timestampMillis : key
                pending.append(Pending(key: key, eventIndex: i, label: LabelEvent(eventID: e.eventID, isFraud: t == .fraud, timestampMillis: ts)))
            }
        } else {
            // The first event carrying each labelled id. Only labelled ids are indexed: a
            // dictionary of every event id (millions) cost more than the rest of the setup.
            var index: [String: Int] = [:]
            index.reserveCapacity(input.labels.count)
            // A bit per hash bucket of the labelled ids screens out most events before the
            // dictionary (whose string hashing cost more than the rest of the setup); a hit
            // still goes through the dictionary, so the result is exact.
            var buckets = 1 << 16
            while buckets < input.labels.count * 16 { buckets <<= 1 }
            var screen = [UInt64](repeating: 0, count: buckets / 64)
            for label in input.labels {
                index[label.eventID] = -1
                let b = Int(truncatingIfNeeded: StableHash.hash(label.eventID)) & (buckets - 1)
                screen[b >> 6] |= 1 << UInt64(b & 63)
            }
            let events = input.events.span  // borrowed: no copy of each event
            for i in events.indices {
                let b = Int(truncatingIfNeeded: StableHash.hash(events[i].eventID)) & (buckets - 1)
                guard screen[b >> 6] & (1 << UInt64(b & 63)) != 0 else { continue }
                if let at = index[events[i].eventID], at < 0 { index[events[i].eventID] = i }
            }
            for label in input.labels {
                guard let i = index[label.eventID], i >= 0 else { unmatched += 1; continue }
                let key: Int64 = switch delay {
                case .events(let n): Int64(i + n - 1)
                case .eventTime(let ms): input.events[i].timestampMillis &+ ms
                case .recorded: label.timestampMillis
                }
                pending.append(Pending(key: key, eventIndex: i, label: label))
            }
        }
        // Stable: equal keys keep event order.
        pending = pending.enumerated().sorted { a, b in
            a.element.key != b.element.key ? a.element.key < b.element.key : a.offset < b.offset
        }.map(\.element)
    }

    /// Releases every label due once events up to `lastScored` (whose latest time is `latestTime`) were scored.
    mutating func release(lastScored: Int, latestTime: Int64, _ body: (Pending) -> Void) {
        let clock = countsEvents ? Int64(lastScored) : latestTime
        while next < pending.count, pending[next].key <= clock, pending[next].eventIndex <= lastScored {
            body(pending[next])
            next += 1
        }
    }
}
