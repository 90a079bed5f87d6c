// The metric and label names a PromQL expression refers to, and the names a live /metrics
// exposition offers: what DeployMetricsTests compares for deploy/prometheus and deploy/grafana.
import Foundation

struct PromQLReferences: Equatable {
    var metrics: Set<String> = []
    var labels: Set<String> = []

    /// Aggregation operators may be followed by `by (...)`/`without (...)` before their `(`.
    static let aggregations: Set<String> = ["sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                                            "bottomk", "topk", "quantile", "limitk", "limit_ratio"]
    static let keywords: Set<String> = ["and", "or", "unless", "bool", "offset", "inf", "nan", "atan2"]
    /// Keywords followed by a parenthesised list of label names.
    static let labelLists: Set<String> = ["by", "without", "on", "ignoring", "group_left", "group_right"]

    /// Reads `expression` with a small scanner: strings, durations and numbers are skipped,
    /// `{...}` matchers and `by (...)`-style lists give label names, identifiers before `(`
    /// are functions, Grafana variables (`$name`) are skipped; every other identifier is a metric.
    init(_ expression: String) {
        let s = Array(expression.unicodeScalars)
        var i = 0
        func isIdentifierStart(_ c: Unicode.Scalar) -> Bool { CharacterSet.letters.contains(c) || c == "_" || c == ":" }
        func isIdentifier(_ c: Unicode.Scalar) -> Bool { isIdentifierStart(c) || CharacterSet.decimalDigits.contains(c) }
        func skipSpaces() { while i < s.count, CharacterSet.whitespacesAndNewlines.contains(s[i]) { i += 1 } }
        func skipString() {
            let quote = s[i]
            i += 1
            while i < s.count && s[i] != quote { i += s[i] == "\\" ? 2 : 1 }
            i += 1
        }
        func identifier() -> String {
            var name = ""
            while i < s.count, isIdentifier(s[i]) { name.unicodeScalars.append(s[i]); i += 1 }
            return name
        }
        /// Identifiers up to `closing`, outside strings.
        func names(until closing: Unicode.Scalar) -> [String] {
            var found: [String] = []
            i += 1
            while i < s.count && s[i] != closing {
                if s[i] == "\"" || s[i] == "'" || s[i] == "`" { skipString() } else if isIdentifierStart(s[i]) { found.append(identifier()) } else { i += 1 }
            }
            i += 1
            return found
        }
        while i < s.count {
            let c = s[i]
            if c == "\"" || c == "'" || c == "`" {
                skipString()
            } else if c == "{" {
                labels.formUnion(names(until: "}"))
            } else if c == "[" {
                _ = names(until: "]")
            } else if c == "$" {
                i += 1
                _ = identifier()
            } else if CharacterSet.decimalDigits.contains(c) || (c == "." && i + 1 < s.count && CharacterSet.decimalDigits.contains(s[i + 1])) {
                // A number or a duration: digits, a fraction, an exponent, a unit.
                while i < s.count, isIdentifier(s[i]) || s[i] == "." { i += 1 }
            } else if isIdentifierStart(c) {
                let name = identifier()
                skipSpaces()
                let next = i < s.count ? s[i] : " "
                if Self.labelLists.contains(name.lowercased()) {
                    if next == "(" { labels.formUnion(names(until: ")")) }
                } else if next == "(" || Self.aggregations.contains(name) || Self.keywords.contains(name.lowercased()) {
                    continue
                } else {
                    metrics.insert(name)
                }
            } else {
                i += 1
            }
        }
    }

    static func + (a: Self, b: Self) -> Self {
        var sum = a
        sum.metrics.formUnion(b.metrics)
        sum.labels.formUnion(b.labels)
        return sum
    }
}

/// The names a Prometheus text exposition offers to queries: every sample's name, plus the
/// series a histogram or summary `# TYPE` implies, and every label name.
struct ExportedNames {
    var metrics: Set<String> = []
    var labels: Set<String> = []

    init(exposition text: String) {
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let words = line.split(separator: " ")
                guard words.count >= 4 else { continue }
                let name = String(words[2])
                metrics.insert(name)
                switch words[3] {
                case "histogram": metrics.formUnion([name + "_bucket", name + "_sum", name + "_count"])
                case "summary": metrics.formUnion([name + "_sum", name + "_count"])
                default: break
                }
            } else if !line.hasPrefix("#"), let end = line.firstIndex(where: { $0 == "{" || $0 == " " }) {
                metrics.insert(String(line[..<end]))
                if line[end] == "{", let close = line.firstIndex(of: "}") {
                    labels.formUnion(PromQLReferences(String(line[end...close])).labels)
                }
            }
        }
    }
}
