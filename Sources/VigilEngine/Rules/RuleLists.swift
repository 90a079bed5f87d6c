// Named lists of values that rules test membership of (`card_id in list('blocked_cards')`):
// cards, merchants, terminals, countries, BINs. Stored in PostgreSQL (vigil.rule_lists); a
// rule set is compiled against the lists as they were when it was loaded, so a list change
// is a rule-set change like any other.

/// Named lists of text values, immutable once built.
public struct RuleLists: Sendable, Equatable {
    private var lists: [String: Set<String>]

    public init(_ lists: [String: Set<String>] = [:]) {
        self.lists = lists
    }

    public static let none = RuleLists()

    public func values(of name: String) -> Set<String>? { lists[name] }

    /// Every list's name, sorted.
    public var names: [String] { lists.keys.sorted() }

    public var isEmpty: Bool { lists.isEmpty }

    public subscript(name: String) -> Set<String>? {
        get { lists[name] }
        set { lists[name] = newValue }
    }
}
