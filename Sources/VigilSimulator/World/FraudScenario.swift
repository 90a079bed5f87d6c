// The ground truth of a simulated transaction: legitimate, or which fraud scenario made it.

public enum FraudScenario: String, Sendable, CaseIterable, Codable {
    case legit
    case largeAmount = "large_amount"
    case compromisedTerminal = "compromised_terminal"
    case compromisedCard = "compromised_card"
    case cardTesting = "card_testing"
    case accountTakeover = "account_takeover"

    public var isFraud: Bool { self != .legit }
}
