// A plot axis: its range, where its ticks go and how their values read.
import Foundation
import VigilFeatures

/// One axis of an `SVGPlot`: a range in data units, labelled ticks inside it, and a label
/// that names the quantity and its unit.
struct PlotAxis {
    struct Tick: Equatable {
        var value: Double
        var label: String
    }

    /// How tick values are written.
    enum Format {
        /// 0, 0.2, 0.4: as many decimals as the tick step needs.
        case plain
        /// Shares as percentages: 0.01 → "1%".
        case percent
        /// Counts: 0, 250k, 1.5M.
        case count
    }

    var label: String
    var lower: Double
    var upper: Double
    var ticks: [Tick]
    /// Positions by log10: for values spread over decades (alert rates of two very different
    /// configurations). Values at or below `lower` sit on the bottom edge.
    var logarithmic = false

    /// A linear axis from `lower` with round ticks (1, 2 or 5 times a power of ten apart), about
    /// `targetTicks` of them. The top is `upper`, raised to the next tick unless `fixedUpper`.
    static func linear(_ label: String, lower: Double = 0, upper: Double, fixedUpper: Bool = false,
                       targetTicks: Int = 5, format: Format = .plain) -> PlotAxis {
        let top = upper > lower ? upper : lower + (format == .count ? 10 : 1)
        let step = roundStep((top - lower) / Double(targetTicks))
        let end = fixedUpper ? top : (top / step).rounded(.up) * step
        var ticks: [Tick] = []
        var k = (lower / step).rounded(.up)
        while k * step <= end + step * 1e-9 {
            let v = k * step
            ticks.append(Tick(value: v, label: text(v, step: step, format: format)))
            k += 1
        }
        return PlotAxis(label: label, lower: lower, upper: end, ticks: ticks)
    }

    /// A log axis over whole decades around `smallest`...`largest` (both positive), ticks at
    /// 1, 2 and 5 times each power of ten when it spans at most two decades, else at powers only.
    static func logarithmic(_ label: String, smallest: Double, largest: Double, format: Format = .plain) -> PlotAxis {
        let low = (log10(smallest)).rounded(.down), high = max(low + 1, (log10(largest)).rounded(.up))
        let multiples: [Double] = high - low <= 2 ? [1, 2, 5] : [1]
        var ticks: [Tick] = []
        for e in stride(from: low, through: high, by: 1) {
            let power = pow(10, e)
            for m in multiples where m * power <= pow(10, high) * (1 + 1e-9) {
                ticks.append(Tick(value: m * power, label: text(m * power, step: power, format: format)))
            }
        }
        return PlotAxis(label: label, lower: pow(10, low), upper: pow(10, high), ticks: ticks, logarithmic: true)
    }

    /// A time axis in days since the epoch (UTC) from the start of `firstDay` to the end of
    /// `lastDay`: a tick at midnight every 1, 2, 7, 14 or 28 days, labelled MM-DD; the label
    /// names the year(s).
    static func days(firstDay: Int64, lastDay: Int64) -> PlotAxis {
        let span = lastDay - firstDay + 1
        let every: Int64 = [1, 2, 7, 14, 28].first { span / $0 <= 10 } ?? ((span / 10 + 27) / 28) * 28
        let ticks = stride(from: firstDay, through: lastDay + 1, by: Int(every)).map { day in
            Tick(value: Double(day), label: String(date(day).dropFirst(5)))
        }
        let years = Set([date(firstDay).prefix(4), date(lastDay).prefix(4)]).sorted().joined(separator: "–")
        return PlotAxis(label: "UTC date (\(years)), ticks at midnight", lower: Double(firstDay), upper: Double(lastDay + 1), ticks: ticks)
    }

    static func date(_ day: Int64) -> String { String(EventTimestamp.formatRFC3339(day * 86_400_000).prefix(10)) }

    /// 1, 2 or 5 times a power of ten, the smallest at least `raw`.
    static func roundStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        var power = 1.0
        while power * 10 < raw { power *= 10 }
        while power > raw { power /= 10 }
        for m in [1.0, 2.0, 5.0, 10.0] where power * m >= raw * (1 - 1e-12) { return power * m }
        return power * 10
    }

    static func text(_ v: Double, step: Double, format: Format) -> String {
        func decimals(_ step: Double) -> Int {
            var d = 0, s = step
            while d < 8 && abs(s - s.rounded()) > 1e-9 * max(1, abs(s)) {
                s *= 10
                d += 1
            }
            return d
        }
        switch format {
        case .plain:
            return ReportText.fixed(v, decimals(step))
        case .percent:
            return ReportText.fixed(v * 100, decimals(step * 100)) + "%"
        case .count:
            if v == 0 { return "0" }
            if step >= 1e6 || abs(v) >= 1e6 && decimals(step / 1e6) <= 1 {
                let millions = v / 1e6
                return ReportText.fixed(millions, millions == millions.rounded() ? 0 : decimals(step / 1e6)) + "M"  // 1M, 1.5M
            }
            if step >= 1e3 { return ReportText.fixed(v / 1e3, decimals(step / 1e3)) + "k" }
            return ReportText.fixed(v, 0)
        }
    }

    /// Where `value` lands between `from` (at `lower`) and `to` (at `upper`), clamped to the axis.
    func position(_ value: Double, from: Double, to: Double) -> Double {
        let v = min(max(value, lower), upper)
        let t = logarithmic ? log10(v / lower) / log10(upper / lower) : (v - lower) / (upper - lower)
        return from + t * (to - from)
    }
}
