// CSV events through a column mapping.
import VigilFeatures

extension ReplayInputReader {
    /// Column positions of one CSV header under a mapping.
    struct ResolvedColumns {
        var id, time, label, amount, card, merchant, currency, mcc, country, channel, terminal, customer: Int?
        var features: [(index: Int, keyHash: UInt64)] = []
        var count: Int

        /// Optional fields mapped to `none` or missing from the header.
        var absentFields: Set<EventField> {
            let present: [(EventField, Int?)] = [(.card, card), (.merchant, merchant), (.terminal, terminal), (.customer, customer),
                                                 (.currency, currency), (.mcc, mcc), (.country, country), (.channel, channel)]
            return Set(present.compactMap { $0.1 == nil ? $0.0 : nil })
        }
    }

    func resolve(header: [String], file: String) throws -> ResolvedColumns {
        let position = Dictionary(header.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        func at(_ column: String?) -> Int? { column.flatMap { position[$0] } }
        let m = mapping
        guard let time = at(m.time) else { throw ReplayError(.malformedInput, "\(file): no time column '\(m.time)' in the header") }
        guard let amount = at(m.amount) else { throw ReplayError(.malformedInput, "\(file): no amount column '\(m.amount)' in the header") }
        var r = ResolvedColumns(id: at(m.id), time: time, label: at(m.label), amount: amount, card: at(m.card), merchant: at(m.merchant),
                                currency: at(m.currency), mcc: at(m.mcc), country: at(m.country), channel: at(m.channel),
                                terminal: at(m.terminal), customer: at(m.customer), count: header.count)
        let featureColumns = m.features == ["*"] ? header.filter { !m.mappedColumns.contains($0) } : m.features
        for column in featureColumns {
            guard let i = position[column] else { throw ReplayError(.malformedInput, "\(file): no feature column '\(column)' in the header") }
            r.features.append((i, StableHash.hash(column)))
        }
        return r
    }

    /// The feature columns a mapping selects from a header (for building a feature spec).
    public func featureColumns(header: [String]) -> [String] {
        mapping.features == ["*"] ? header.filter { !mapping.mappedColumns.contains($0) } : mapping.features
    }

    func readCSV(_ bytes: Span<UInt8>, file: String, into input: inout ReplayInput) throws {
        var fields: [String] = []
        var columns: ResolvedColumns?
        try forEachLine(bytes) { (line, number) throws in
            if line.isEmpty { return }
            guard CSVLineSplitter.split(line, into: &fields) else { return try problem(&input, file, number, "unterminated quote") }
            guard let c = columns else {
                let resolved = try resolve(header: fields, file: file)
                columns = resolved
                input.featureColumns = featureColumns(header: fields)
                input.absentFields = resolved.absentFields
                return
            }
            guard fields.count == c.count else { return try problem(&input, file, number, "expected \(c.count) fields, got \(fields.count)") }
            func text(_ i: Int?) -> String? { i.map { fields[$0] }.flatMap { $0.isEmpty ? nil : $0 } }
            guard let ts = Self.parseTime(fields[c.time!], unitMillis: mapping.timeUnitMillis) else {
                return try problem(&input, file, number, "time '\(fields[c.time!])' is neither RFC 3339 nor a number in range")
            }
            guard var amount = Double(fields[c.amount!]), amount.isFinite else {
                return try problem(&input, file, number, "amount '\(fields[c.amount!])' is not a finite number")
            }
            // The event contract's rule: zero (a verification authorisation) is valid, negative is not.
            guard amount >= 0 else { return try problem(&input, file, number, "amount \(fields[c.amount!]) is negative") }
            if amount == 0 { amount = 0 }  // "-0" is a zero amount, as EventDecoder has it
            var extras: [ExtraFeature] = []
            extras.reserveCapacity(c.features.count)
            for (i, key) in c.features {
                guard let v = Double(fields[i]), v.isFinite else {
                    return try problem(&input, file, number, "feature '\(fields[i])' in column \(i + 1) is not a finite number")
                }
                extras.append(ExtraFeature(keyHash: key, value: v))
            }
            var truth = Truth.unknown
            if let l = c.label, !fields[l].isEmpty {
                guard let isFraud = Self.parseLabel(fields[l]) else {
                    return try problem(&input, file, number, "label '\(fields[l])' is not 1/0, true/false or fraud/legit")
                }
                truth = isFraud ? .fraud : .legit
            }
            if let i = c.id, fields[i].isEmpty { return try problem(&input, file, number, "empty event id") }
            input.events.append(TransactionEvent(
                eventID: text(c.id) ?? "line-\(number)", timestampMillis: ts, cardID: text(c.card) ?? "card", merchantID: text(c.merchant) ?? "merchant",
                amount: amount, currency: text(c.currency) ?? defaultCurrency, mcc: text(c.mcc), country: text(c.country),
                channel: text(c.channel), terminalID: text(c.terminal), customerID: text(c.customer), extraFeatures: extras))
            input.truth.append(truth)
        }
        if columns == nil { throw ReplayError(.malformedInput, "\(file): no header line") }
    }
}
