// The one JSON string escaper of the service: log lines, the reasons column, scoring
// answers and the audit writer's partition lists all quote text through it.

enum JSONText {
    /// `s` as a JSON string literal.
    static func string(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count + 2)
        append(s, to: &out)
        return out
    }

    /// Appends `s` as a JSON string literal, escaped exactly as PostgreSQL's `escape_json`
    /// does (short forms for backspace, form feed, newline, return and tab; `\u00XX` for the
    /// other control characters): `alerts.reasons` must be byte for byte what PostgreSQL
    /// prints back, because the audit chain hashes those bytes.
    static func append(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
