// Customers and terminals on a grid, in the spirit of the ULB/Worldline fraud-detection
// handbook: each customer has a home, a spending profile and the terminals near home.
import VigilML

/// A customer (one card) and how they spend.
public struct CustomerProfile: Sendable, Equatable {
    public var x: Double
    public var y: Double
    public var meanAmount: Double
    public var sdAmount: Double
    public var transactionsPerDay: Double
    public var country: String
    public var prefersOnline: Bool
    /// Indices of the terminals this customer uses.
    public var terminals: [Int32]
}

/// A terminal (point of sale) and the merchant it belongs to.
public struct TerminalProfile: Sendable, Equatable {
    public var x: Double
    public var y: Double
    public var merchant: Int
    public var mcc: String
}

public struct SimulatedWorld: Sendable {
    public let customers: [CustomerProfile]
    public let terminals: [TerminalProfile]

    static let mccs = ["5411", "5812", "5541", "5311", "5912", "5732", "5999", "4111", "5691", "5814", "7011", "5944"]

    public init(_ c: SimulatorConfiguration) {
        var rng = SeededGenerator(seed: c.seed, stream: 0x7E4)
        let merchants = max(1, c.merchants)
        let merchantMCC = (0..<merchants).map { _ in Self.mccs[rng.below(Self.mccs.count)] }
        let terminals = (0..<max(1, c.terminals)).map { i in
            TerminalProfile(x: rng.uniform(0, c.gridSize), y: rng.uniform(0, c.gridSize), merchant: i % merchants, mcc: merchantMCC[i % merchants])
        }
        // Grid cells as wide as the radius: the terminals in range lie in the 3x3 cells around home.
        let cellSize = max(c.radius, 1e-9)
        let cellsPerSide = max(1, Int((c.gridSize / cellSize).rounded(.up)))
        var cells = Array(repeating: [Int32](), count: cellsPerSide * cellsPerSide)
        func cell(_ v: Double) -> Int { min(cellsPerSide - 1, max(0, Int(v / cellSize))) }
        for (i, t) in terminals.enumerated() { cells[cell(t.y) * cellsPerSide + cell(t.x)].append(Int32(i)) }

        var customers: [CustomerProfile] = []
        customers.reserveCapacity(c.customers)
        var crng = SeededGenerator(seed: c.seed, stream: 0xC057)
        for _ in 0..<c.customers {
            let x = crng.uniform(0, c.gridSize), y = crng.uniform(0, c.gridSize)
            let mean = crng.uniform(5, 100)
            let perDay = crng.uniform(0, 4)
            let foreign = !c.otherCountries.isEmpty && crng.chance(c.foreignCustomerShare)
            let country = foreign ? c.otherCountries[crng.below(c.otherCountries.count)] : c.homeCountry
            let online = crng.chance(0.2)
            var nearby: [Int32] = []
            let cx = cell(x), cy = cell(y)
            for gy in max(0, cy - 1)...min(cellsPerSide - 1, cy + 1) {
                for gx in max(0, cx - 1)...min(cellsPerSide - 1, cx + 1) {
                    for t in cells[gy * cellsPerSide + gx] {
                        let dx = terminals[Int(t)].x - x, dy = terminals[Int(t)].y - y
                        if dx * dx + dy * dy <= c.radius * c.radius { nearby.append(t) }
                    }
                }
            }
            // Keep a random subset (partial Fisher-Yates) so memory stays bounded on dense grids.
            if nearby.count > c.maxTerminalsPerCustomer {
                for i in 0..<c.maxTerminalsPerCustomer { nearby.swapAt(i, i + crng.below(nearby.count - i)) }
                nearby = Array(nearby[0..<c.maxTerminalsPerCustomer]) // a fresh array: removeLast would keep the capacity
            }
            if nearby.isEmpty { nearby = [Int32(crng.below(terminals.count))] } // nobody is left without a shop
            if nearby.capacity > 2 * nearby.count { nearby = Array(nearby) }
            customers.append(CustomerProfile(x: x, y: y, meanAmount: mean, sdAmount: mean / 2, transactionsPerDay: perDay,
                                             country: country, prefersOnline: online, terminals: nearby))
        }
        self.customers = customers
        self.terminals = terminals
    }
}
