// Delayed labels (chargebacks, analyst verdicts) feed the card and merchant/terminal risk.

extension FeatureExtractor {
    /// Applies a label to the entities of the event it names, found through the recent-event
    /// index. Returns false when the event is no longer indexed (or never passed through this
    /// extractor): the label then changes no state.
    @discardableResult
    public mutating func apply(label: LabelEvent) -> Bool {
        guard let entry = recent.lookup(StableHash.hash(label.eventID)) else { return false }
        applyLabel(cardKey: entry.card, merchantKey: entry.merchant, terminalKey: entry.terminal,
                   isFraud: label.isFraud, timestampMillis: label.timestampMillis)
        return true
    }

    /// Applies a label when the caller already knows the event's entities (for example from
    /// the decisions table), independent of the recent-event index.
    public mutating func applyLabel(cardID: String, merchantID: String, terminalID: String?, isFraud: Bool, timestampMillis: Int64) {
        applyLabel(cardKey: StableHash.hash(cardID), merchantKey: StableHash.hash(merchantID),
                   terminalKey: terminalID.map { StableHash.hash($0) } ?? 0, isFraud: isFraud, timestampMillis: timestampMillis)
    }

    mutating func applyLabel(cardKey: UInt64, merchantKey: UInt64, terminalKey: UInt64, isFraud: Bool, timestampMillis: Int64) {
        let now = UInt32(clamping: timestampMillis / 1000)
        if isFraud, let slot = cards.find(cardKey) {
            // Counted as of the card's last transaction time: labels arrive late, and moving the
            // card's clock to the label time would age its transaction windows early.
            cards[slot].fraudLabels += 1
        }
        for (isTerminal, key) in [(false, merchantKey), (true, terminalKey)] where key != 0 {
            let slot = isTerminal ? terminals.find(key) : merchants.find(key)
            guard let slot else { continue }
            if isTerminal {
                Self.decay(&terminals[slot], Decay(from: terminals[slot].lastSeconds, to: now, week: false), to: now)
                terminals[slot].labels += 1
                if isFraud { terminals[slot].fraudLabels += 1 }
            } else {
                Self.decay(&merchants[slot], Decay(from: merchants[slot].lastSeconds, to: now, week: false), to: now)
                merchants[slot].labels += 1
                if isFraud { merchants[slot].fraudLabels += 1 }
            }
        }
    }
}
