// One simulated transaction and one delayed label, with their wire formats (the event and
// label contracts of DESIGN.md) and a CSV row.
import VigilFeatures

public struct SimulatedTransaction: Sendable, Equatable {
    public var eventID: String
    public var timestampMillis: Int64
    public var customer: Int
    public var terminal: Int
    public var merchant: Int
    /// Amount in cents. At least 1: the simulator's scenarios never produce a zero-amount
    /// authorisation, although the event contract accepts them.
    public var amountCents: Int64
    public var currency: String
    public var mcc: String
    public var country: String
    public var channel: String
    public var scenario: FraudScenario

    public var cardID: String { "card-\(Self.pad(customer, 7))" }
    public var customerID: String { "cust-\(Self.pad(customer, 7))" }
    public var merchantID: String { "m-\(Self.pad(merchant, 6))" }
    public var terminalID: String { "t-\(Self.pad(terminal, 6))" }
    public var amountText: String { "\(amountCents / 100).\(Self.pad(Int(amountCents % 100), 2))" }

    static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// The event as one JSON object (no newline); `truth` adds `fraud` and `scenario`, which the
    /// decoder ignores as unknown fields.
    public func json(truth: Bool) -> String {
        var s = #"{"event_id":"\#(eventID)","ts":"\#(EventTimestamp.formatRFC3339(timestampMillis))","card_id":"\#(cardID)","merchant_id":"\#(merchantID)","amount":\#(amountText),"currency":"\#(currency)","mcc":"\#(mcc)","country":"\#(country)","channel":"\#(channel)","terminal_id":"\#(terminalID)","customer_id":"\#(customerID)""#
        if truth { s += #","fraud":\#(scenario.isFraud),"scenario":"\#(scenario.rawValue)""# }
        s += "}"
        return s
    }

    public static let csvHeader = "event_id,ts,card_id,merchant_id,amount,currency,mcc,country,channel,terminal_id,customer_id"

    public func csv(truth: Bool) -> String {
        var s = "\(eventID),\(EventTimestamp.formatRFC3339(timestampMillis)),\(cardID),\(merchantID),\(amountText),\(currency),\(mcc),\(country),\(channel),\(terminalID),\(customerID)"
        if truth { s += ",\(scenario.isFraud),\(scenario.rawValue)" }
        return s
    }
}

public struct SimulatedLabel: Sendable, Equatable {
    public var eventID: String
    public var isFraud: Bool
    public var timestampMillis: Int64
    /// The scenario of the labelled transaction (ground truth, for analysis).
    public var scenario: FraudScenario

    public func json() -> String {
        #"{"event_id":"\#(eventID)","label":"\#(isFraud ? "fraud" : "legit")","ts":"\#(EventTimestamp.formatRFC3339(timestampMillis))","scenario":"\#(scenario.rawValue)"}"#
    }

    public static let csvHeader = "event_id,label,ts,scenario"

    public func csv() -> String {
        "\(eventID),\(isFraud ? "fraud" : "legit"),\(EventTimestamp.formatRFC3339(timestampMillis)),\(scenario.rawValue)"
    }
}
