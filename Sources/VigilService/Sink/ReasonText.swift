// How a decision's reasons are written: a compact text in `decisions.reasons` (every event)
// and, for the few events that raise an alert, JSON in `alerts.reasons` in exactly the form
// PostgreSQL prints jsonb back, so the bytes the sink hashes are the bytes verify reads.
import VigilEngine

public enum ReasonText {
    /// `decisions.reasons`: `kind:name=weight` per reason, strongest first, separated by `;`.
    /// Kinds: `r` the autoencoder's reconstruction error, `c` the classifier's evidence, `p` a
    /// policy rule, `s` a rule in shadow mode (it changed nothing). Weights are plain decimals rounded to 3 places (`nan`/`inf` when not
    /// finite). Example: `p:rule.large_amount=220;r:amount=12.5;c:card.count_1h=0.81`.
    public static func compact(_ reasons: ReasonList) -> String {
        var out = ""
        for (i, r) in reasons.enumerated() {
            if i > 0 { out += ";" }
            out.append(r.kind.code)
            out += ":"
            out += r.name
            out += "="
            out += decimal(r.weight) ?? (r.weight.isNaN ? "nan" : (r.weight > 0 ? "inf" : "-inf"))
        }
        return out
    }

    /// `alerts.reasons` (jsonb): `[{"kind": "classifier", "name": "amount", "weight": 0.42}, ...]`,
    /// byte for byte what PostgreSQL's jsonb output gives for it: keys sorted (shorter first,
    /// then bytewise), `", "` and `": "` separators, numbers as the plain decimals it keeps,
    /// strings escaped as its `escape_json` does. A weight that is not finite is `null`.
    public static func canonicalJSON(_ reasons: ReasonList) -> String {
        var out = "["
        for (i, r) in reasons.enumerated() {
            if i > 0 { out += ", " }
            out += "{\"kind\": \"\(r.kind.name)\", \"name\": "
            JSONText.append(r.name, to: &out)
            out += ", \"weight\": "
            out += decimal(r.weight) ?? "null"
            out += "}"
        }
        return out + "]"
    }

    /// `value` rounded to 3 decimal places as a plain decimal (no exponent, no trailing zeros,
    /// no `-0`), or nil when it is not finite. Magnitudes are clamped to 10^12: a weight is a
    /// ratio or a probability, and the clamp keeps the integer arithmetic exact.
    static func decimal(_ value: Float) -> String? {
        guard value.isFinite else { return nil }
        let clamped = Swift.min(Swift.max(Double(value), -1e12), 1e12)
        let thousandths = Int64((clamped * 1000).rounded())
        if thousandths == 0 { return "0" }
        let magnitude = thousandths.magnitude
        var text = thousandths < 0 ? "-" : ""
        text += String(magnitude / 1000)
        var fraction = magnitude % 1000
        if fraction != 0 {
            var digits = 3
            while fraction % 10 == 0 { fraction /= 10; digits -= 1 }
            let f = String(fraction)
            text += "." + String(repeating: "0", count: digits - f.count) + f
        }
        return text
    }
}
