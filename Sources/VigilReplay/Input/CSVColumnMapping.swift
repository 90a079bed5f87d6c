// Which CSV column holds which event field, so arbitrary public datasets replay unconverted.

/// Maps CSV header names to the event contract. Parsed from `key=column,...` text, e.g.
/// `id=TransactionID,time=Time,time_unit=s,label=Class,amount=Amount,card=none,features=V1|V2|V3`
/// or `features=*` (every column not mapped to something else). `none` means the dataset has
/// no such column: ids become `line-N`, a missing card or merchant becomes one shared entity.
public struct CSVColumnMapping: Sendable, Equatable {
    /// Default: `event_id`; `none` numbers events by line.
    public var id: String? = "event_id"
    /// Default: `ts` (RFC 3339, or a number in `timeUnit`).
    public var time = "ts"
    /// Unit of a numeric time column. Default: milliseconds.
    public var timeUnitMillis: Double = 1
    /// Ground truth column (`1`/`true`/`fraud` vs `0`/`false`/`legit`; empty = unknown). Default: `fraud`
    /// when the header has it (`vigil gen --truth`), else none.
    public var label: String? = "fraud"
    /// Default: `amount`.
    public var amount = "amount"
    /// Entity columns. Defaults: the `vigil gen` names; `none` for absent ones.
    public var card: String? = "card_id"
    public var merchant: String? = "merchant_id"
    public var currency: String? = "currency"
    public var mcc: String? = "mcc"
    public var country: String? = "country"
    public var channel: String? = "channel"
    public var terminal: String? = "terminal_id"
    public var customer: String? = "customer_id"
    /// Numeric columns that become `features.<column>`; `["*"]` = all unmapped columns. Default: none.
    public var features: [String] = []

    public init() {}

    /// Parses `key=column` pairs separated by commas over the defaults.
    public static func parse(_ text: String) throws -> CSVColumnMapping {
        var m = CSVColumnMapping()
        for pair in text.split(separator: ",", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).trimmingSpaces }
            guard parts.count == 2, !parts[1].isEmpty else {
                throw ReplayError(.invalidConfiguration, "column mapping entry '\(pair)' is not key=column")
            }
            let value: String? = parts[1] == "none" ? nil : parts[1]
            switch parts[0] {
            case "id": m.id = value
            case "time":
                guard let value else { throw ReplayError(.invalidConfiguration, "the time column cannot be none") }
                m.time = value
            case "time_unit":
                switch parts[1] {
                case "ms": m.timeUnitMillis = 1
                case "s": m.timeUnitMillis = 1000
                default: throw ReplayError(.invalidConfiguration, "time_unit must be ms or s")
                }
            case "label": m.label = value
            case "amount":
                guard let value else { throw ReplayError(.invalidConfiguration, "the amount column cannot be none") }
                m.amount = value
            case "card": m.card = value
            case "merchant": m.merchant = value
            case "currency": m.currency = value
            case "mcc": m.mcc = value
            case "country": m.country = value
            case "channel": m.channel = value
            case "terminal": m.terminal = value
            case "customer": m.customer = value
            case "features": m.features = value.map { $0.split(separator: "|").map { String($0).trimmingSpaces } } ?? []
            default: throw ReplayError(.invalidConfiguration, "unknown column mapping key '\(parts[0])'")
            }
        }
        return m
    }

    /// Columns used for something other than features.
    var mappedColumns: [String] {
        [id, time, label, amount, card, merchant, currency, mcc, country, channel, terminal, customer].compactMap { $0 }
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
