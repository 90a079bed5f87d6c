// Every knob of the simulator, with the defaults `vigil gen` uses.

public struct SimulatorConfiguration: Sendable, Equatable {
    /// Seed of every random choice. Default: 1.
    public var seed: UInt64 = 1
    /// Customers, one card each. Default: 10,000.
    public var customers = 10_000
    /// Terminals (points of sale), placed uniformly on the grid. Default: 20,000.
    public var terminals = 20_000
    /// Merchants; each terminal belongs to one (terminal index modulo this). Default: 5,000.
    public var merchants = 5_000
    /// Side of the square grid customers and terminals live on. Default: 100.
    public var gridSize = 100.0
    /// A customer uses terminals within this distance of home. Default: 5.
    public var radius = 5.0
    /// At most this many terminals are kept per customer (a random subset of those in range). Default: 50.
    public var maxTerminalsPerCustomer = 50
    /// Start of simulated time, in epoch milliseconds (UTC midnight). Default: 2026-01-01.
    public var startMillis: Int64 = 1_767_225_600_000
    /// Currency of every transaction. Default: EUR.
    public var currency = "EUR"
    /// Customers' home country; a share `foreignCustomerShare` live in one of `otherCountries`.
    public var homeCountry = "FR"
    public var otherCountries = ["DE", "BE", "ES", "IT", "NL"]
    public var foreignCustomerShare = 0.1
    /// Countries account takeovers come from (never the customer's home).
    public var takeoverCountries = ["RU", "NG", "BR", "US", "CN", "RO"]

    // MARK: Fraud scenarios (rates per simulated day unless stated)

    /// Share of ordinary transactions that become a large-amount fraud (5-15x the usual). Default: 0.001.
    public var largeAmountRate = 0.001
    /// Terminals compromised each day; all their transactions are fraud for `terminalCompromiseDays`. Default: 2 and 14.
    public var compromisedTerminalsPerDay = 2
    public var terminalCompromiseDays = 14
    /// Cards compromised each day; `compromisedCardShare` of their transactions over the next
    /// `cardCompromiseDays` are fraud with amounts 5x larger. Default: 3, 14, 1/3.
    public var compromisedCardsPerDay = 3
    public var cardCompromiseDays = 14
    public var compromisedCardShare = 1.0 / 3.0
    /// Card-testing bursts per day: 5-20 small amounts (0.50-3.00) at random merchants within minutes. Default: 1.
    public var cardTestingBurstsPerDay = 1
    /// Account takeovers per day: 1-4 online transactions from a new country, 3-10x the usual amount. Default: 1.
    public var accountTakeoversPerDay = 1

    // MARK: Labels

    /// Mean delay of a label (chargeback) after its transaction, in hours; each delay is drawn
    /// uniformly in [0.5, 1.5] x this. Default: 72 hours.
    public var labelDelayHours = 72.0
    /// Share of legitimate transactions that also get a (legit) label. Default: 0.05.
    public var legitLabelRate = 0.05

    public init() {}
}
