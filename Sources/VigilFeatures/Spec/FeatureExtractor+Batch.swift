// Batched extraction: the same features as one event at a time, but the card slots of a group
// of events are loaded together first. The loads are independent, so the CPU overlaps their
// cache misses instead of taking them one after another — the card table is far larger than
// the caches once millions of cards are in state.

extension FeatureExtractor {
    /// Extracts every event in order; `vectors` is resized to match and reused across calls.
    /// Results are bit-identical to calling `extract(_:into:)` on each event in turn.
    public mutating func extract(batch events: [TransactionEvent], into vectors: inout [FeatureVector]) {
        extract(batch: events[...], into: &vectors)
    }

    /// Extracts a slice of events in order (see `extract(batch:into:)`).
    public mutating func extract(batch events: ArraySlice<TransactionEvent>, into vectors: inout [FeatureVector]) {
        if vectors.count != events.count {
            if vectors.count > events.count {
                vectors.removeLast(vectors.count - events.count)
            } else {
                for _ in vectors.count..<events.count { vectors.append(makeVector()) }
            }
        }
        let group = 16
        // Through a span: the events are then borrowed, where `events[index]` copied each
        // one (retaining and releasing every string) for the call.
        let events = events.span
        var index = 0
        while index < events.count {
            // Touch the next group's card slots (and the one after, so the lines are in flight).
            let probe = min(index + group, events.count)
            var touched: UInt64 = 0
            for k in index..<probe { touched ^= cards.touch(StableHash.hash(events[k].cardID)) }
            prefetchSink ^= touched
            while index < probe {
                extract(events[index], into: &vectors[index])
                index += 1
            }
        }
    }
}

extension EntityTable {
    /// Loads the home slot of `key` and returns its key word (so the load cannot be optimised away).
    @inline(__always)
    func touch(_ rawKey: UInt64) -> UInt64 {
        let key = Self.normalise(rawKey)
        let home = Int(truncatingIfNeeded: key.multipliedFullWidth(by: UInt64(entries.count)).high)
        return entries[home].key
    }
}
