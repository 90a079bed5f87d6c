// What `POST /v1/score` answers, as bytes. A decision's body is built from exactly the values
// its `decisions` row stores (reals, the compact reason text, `decided_at` in microseconds), so
// the body of a repeated event id, rebuilt from the stored row, is byte for byte the first one.
import VigilEngine

/// The answer to one scoring request.
public enum ScoreAnswer: Sendable, Equatable {
    /// 200: the decision body (`ScoreAnswer.body`); `repeated` when it was read back from the
    /// audit trail rather than decided now.
    case decided(body: [UInt8], repeated: Bool)
    /// Not decided: the status (400, 429, 503, 500), a reason code and a message; with
    /// `retryAfter` seconds for 429 and 503.
    case refused(status: Int, code: String, message: String, retryAfter: Int?)

    /// The JSON body of a refusal: `{"error": code, "message": ...}`.
    public var errorBody: [UInt8] {
        guard case .refused(_, let code, let message, _) = self else { return [] }
        var out = "{\"error\":"
        JSONText.append(code, to: &out)
        out += ",\"message\":"
        JSONText.append(message, to: &out)
        return Array((out + "}").utf8)
    }

    public var status: Int {
        switch self {
        case .decided: 200
        case .refused(let status, _, _, _): status
        }
    }
}

/// The fields of a decision as stored, and their JSON body.
struct ScoredDecision: Sendable, Equatable {
    var eventID: String
    var outcome: String
    var risk: Float
    var anomalyScore: Float
    var fraudProbability: Float
    var modelVersion: Int64
    /// `decisions.reasons`: the compact text (ReasonText.compact).
    var reasons: String
    /// `decided_at` in microseconds since 1970 (what timestamptz keeps).
    var decidedAtMicros: Int64

    init(_ d: Decision, decidedAtMicros: Int64) {
        eventID = d.eventID
        outcome = d.outcome.rawValue
        risk = d.risk
        anomalyScore = d.anomalyScore
        fraudProbability = d.fraudProbability
        modelVersion = d.modelVersion
        reasons = ReasonText.compact(d.reasons)
        self.decidedAtMicros = decidedAtMicros
    }

    init(eventID: String, outcome: String, risk: Float, anomalyScore: Float, fraudProbability: Float, modelVersion: Int64,
         reasons: String, decidedAtMicros: Int64) {
        self.eventID = eventID
        self.outcome = outcome
        self.risk = risk
        self.anomalyScore = anomalyScore
        self.fraudProbability = fraudProbability
        self.modelVersion = modelVersion
        self.reasons = reasons
        self.decidedAtMicros = decidedAtMicros
    }

    /// `{"event_id", "decision", "risk", "anomaly_score", "fraud_probability", "model_version",
    /// "reasons": [{"kind", "name", "weight"}], "decided_at"}` (api/openapi.json, `Decision`).
    var body: [UInt8] {
        var out = "{\"event_id\":"
        JSONText.append(eventID, to: &out)
        out += ",\"decision\":\"" + outcome + "\""
        out += ",\"risk\":" + Self.number(risk)
        out += ",\"anomaly_score\":" + Self.number(anomalyScore)
        out += ",\"fraud_probability\":" + Self.number(fraudProbability)
        out += ",\"model_version\":" + String(modelVersion)
        out += ",\"reasons\":["
        for (i, reason) in reasons.split(separator: ";", omittingEmptySubsequences: true).enumerated() {
            if i > 0 { out += "," }
            Self.appendReason(reason, to: &out)
        }
        out += "],\"decided_at\":\"" + Self.timestamp(micros: decidedAtMicros) + "\"}"
        return Array(out.utf8)
    }

    /// A Float as JSON: Swift's shortest round-trip text, `null` when not finite.
    static func number(_ value: Float) -> String {
        value.isFinite ? "\(value)" : "null"
    }

    /// One `kind:name=weight` of the compact text as `{"kind","name","weight"}`; the weight is
    /// the stored decimal text (`nan`/`inf` become null).
    static func appendReason(_ text: Substring, to out: inout String) {
        let kindEnd = text.firstIndex(of: ":") ?? text.startIndex
        let weightStart = text.lastIndex(of: "=") ?? text.endIndex
        let kind = RiskReason.Kind(code: text[text.startIndex..<kindEnd])?.name ?? "other"
        let nameStart = kindEnd < text.endIndex ? text.index(after: kindEnd) : kindEnd
        let name = String(text[nameStart..<max(nameStart, weightStart)])
        let weight = weightStart < text.endIndex ? String(text[text.index(after: weightStart)...]) : ""
        out += "{\"kind\":\"" + kind + "\",\"name\":"
        JSONText.append(name, to: &out)
        out += ",\"weight\":" + (weight.isEmpty || weight == "nan" || weight.hasSuffix("inf") ? "null" : weight) + "}"
    }

    /// RFC 3339 in UTC with microseconds: `2026-12-03T15:30:00.123456Z`.
    static func timestamp(micros: Int64) -> String {
        let (seconds, fraction) = micros.quotientAndRemainder(dividingBy: 1_000_000)
        let (s, f) = fraction < 0 ? (seconds - 1, fraction + 1_000_000) : (seconds, fraction)
        let (days, secondOfDay) = s.quotientAndRemainder(dividingBy: 86_400)
        let (d, sod) = secondOfDay < 0 ? (days - 1, secondOfDay + 86_400) : (days, secondOfDay)
        // Civil date from days since 1970 (Howard Hinnant's algorithm).
        let z = d + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ v: Int64, _ width: Int) -> String {
            let t = String(v)
            return String(repeating: "0", count: max(0, width - t.count)) + t
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(sod / 3600, 2)):\(pad(sod % 3600 / 60, 2)):\(pad(sod % 60, 2)).\(pad(f, 6))Z"
    }
}
