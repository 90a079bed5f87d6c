// How the report writes numbers, intervals, metrics that do not apply, and escaped text.
import Foundation
import VigilML

enum ReportText {
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// Escaped, with a line-break opportunity after each comma: long setting lists wrap at
    /// their separators instead of pushing the table wider than the page.
    static func wrappable(_ s: String) -> String {
        escape(s).replacingOccurrences(of: ",", with: ",<wbr>")
    }

    static func fixed(_ v: Double, _ decimals: Int) -> String {
        String(format: "%.\(max(0, decimals))f", v == 0 ? 0 : v)  // never "-0.0"
    }

    /// A metric in [0, 1] with four decimals.
    static func metric(_ v: Double) -> String { fixed(v, 4) }

    /// A share as a percentage with enough decimals for rare events (0.0123 → "1.23%").
    static func percent(_ v: Double) -> String {
        let p = v * 100
        return fixed(p, p != 0 && abs(p) < 0.1 ? 3 : 2) + "%"
    }

    /// 1234567 → "1,234,567": grouped the same way on every machine, whatever its locale.
    static func count<I: BinaryInteger>(_ n: I) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// A metric that does not apply here, and why, shown where its value would be.
    static func notApplicable(_ reason: String) -> String {
        "<span class=\"na\">n/a</span> <span class=\"why\">(\(escape(reason)))</span>"
    }

    /// A metric with its interval under it, or n/a with the reason.
    static func withInterval(_ v: Double?, _ interval: ConfidenceInterval?, missing reason: String) -> String {
        guard let v else { return notApplicable(reason) }
        guard let interval else { return metric(v) }
        return "\(metric(v)) <span class=\"ci\">[\(metric(interval.low)), \(metric(interval.high))]</span>"
    }
}
