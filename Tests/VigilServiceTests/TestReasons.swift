import VigilEngine

enum VigilEngineReasons {
    static func sample() -> ReasonList {
        ReasonList([RiskReason(kind: .rule, name: "rule.\"odd\"\nname", weight: 1), RiskReason(kind: .reconstruction, name: "amount", weight: .nan)])
    }
}
