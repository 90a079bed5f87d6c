// The report's plots, built from the metrics of one or more runs: each run one colour, overlaid.
import VigilFeatures
import VigilML

enum ReportFigures {
    /// Okabe and Ito's palette: told apart with the common colour-vision deficiencies and in greyscale print.
    static let colors = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]
    static let reference = "#666666"

    static func color(_ run: Int) -> String { colors[run % colors.count] }

    struct Figure {
        var plot: SVGPlot
        /// HTML under the plot: how to read it.
        var caption: String
    }

    static func precisionRecall(_ runs: [ReplayMetrics]) -> Figure {
        var plot = SVGPlot(title: "Precision–recall", x: .linear("recall: share of frauds alerted", upper: 1, fixedUpper: true),
                           y: .linear("precision: share of alerts that are fraud", upper: 1, fixedUpper: true))
        for (i, m) in runs.enumerated() {
            let name = m.auprc.map { "\(m.name) (AUPRC \(ReportText.metric($0)))" } ?? m.name
            plot.series.append(.init(name: name, color: color(i), segments: [steps(m.prCurve)]))
        }
        let rates = runs.compactMap(\.fraudRate)
        if Set(rates).count == 1, let rate = rates.first {
            plot.series.append(.init(name: "no skill (fraud rate \(ReportText.percent(rate)))", color: reference, stroke: .dashed,
                                     segments: [[CurvePoint(x: 0, y: rate), CurvePoint(x: 1, y: rate)]]))
        } else {
            for (i, m) in runs.enumerated() {
                guard let rate = m.fraudRate else { continue }
                plot.series.append(.init(name: "no skill, \(m.name) (\(ReportText.percent(rate)))", color: color(i), stroke: .dotted,
                                         segments: [[CurvePoint(x: 0, y: rate), CurvePoint(x: 1, y: rate)]]))
            }
        }
        return Figure(plot: plot, caption: "At every distinct risk threshold, drawn as the step function whose area is the AUPRC "
            + "(every change of slope kept). Dashed: a ranking with no skill, whose precision is the fraud rate.")
    }

    /// The step function over PR points: precision Pₖ held from Rₖ₋₁ to Rₖ.
    static func steps(_ curve: [CurvePoint]) -> [CurvePoint] {
        guard let first = curve.first else { return [] }
        var out = [CurvePoint(x: 0, y: first.y)]
        var previousRecall = 0.0
        for p in curve {
            out.append(CurvePoint(x: previousRecall, y: p.y))
            out.append(p)
            previousRecall = p.x
        }
        return out
    }

    static func roc(_ runs: [ReplayMetrics]) -> Figure {
        var plot = SVGPlot(title: "ROC", x: .linear("false positive rate: share of legitimate events alerted", upper: 1, fixedUpper: true),
                           y: .linear("true positive rate (recall)", upper: 1, fixedUpper: true))
        for (i, m) in runs.enumerated() {
            let name = m.rocAUC.map { "\(m.name) (ROC-AUC \(ReportText.metric($0)))" } ?? m.name
            plot.series.append(.init(name: name, color: color(i), segments: [m.rocCurve]))
        }
        plot.series.append(.init(name: "no skill", color: reference, stroke: .dashed, segments: [[CurvePoint(x: 0, y: 0), CurvePoint(x: 1, y: 1)]]))
        return Figure(plot: plot, caption: "At every distinct risk threshold (points on a straight stretch left out). "
            + "Tied risks move both rates at once, as the ROC-AUC counts them.")
    }

    static func riskDistribution(_ runs: [ReplayMetrics]) -> Figure {
        var shares: [(fraud: [Double], legit: [Double])] = []
        for m in runs {
            func share(_ counts: [Int]) -> [Double] {
                let total = Double(max(1, counts.reduce(0, +)))
                return counts.map { Double($0) / total }
            }
            shares.append((share(m.riskHistogram.fraud), share(m.riskHistogram.legit)))
        }
        let top = shares.flatMap { $0.fraud + $0.legit }.max() ?? 1
        var plot = SVGPlot(title: "Risk by class", x: .linear("risk (bins of 0.05)", upper: 1, fixedUpper: true),
                           y: .linear("share of the class's events", upper: top, format: .percent))
        for (i, (fraud, legit)) in shares.enumerated() {
            plot.series.append(.init(name: "\(runs[i].name): fraud", color: color(i), segments: [histogramOutline(fraud)]))
            plot.series.append(.init(name: "\(runs[i].name): legitimate", color: color(i), stroke: .dashed, segments: [histogramOutline(legit)]))
        }
        var thresholds: [(Double, String)] = []
        for m in runs {
            for (key, name) in [("review_threshold", "review"), ("block_threshold", "block")] {
                if let v = m.configuration[key].flatMap(Double.init), !thresholds.contains(where: { $0.0 == v && $0.1 == name }) {
                    thresholds.append((v, name))
                }
            }
        }
        plot.markers = thresholds.map { SVGPlot.Marker(x: $0.0, color: reference, note: "\($0.1) at risk ≥ \($0.0)") }
        if !thresholds.isEmpty { plot.markerLegend = [("policy thresholds: " + thresholds.map { "\($0.1) \($0.0)" }.joined(separator: ", "), reference, false)] }
        return Figure(plot: plot, caption: "Each class as shares of its own evaluated events, so rare fraud is visible next to "
            + "legitimate traffic. Events at or right of the review threshold are alerts.")
    }

    static func histogramOutline(_ shares: [Double]) -> [CurvePoint] {
        let width = 1 / Double(max(1, shares.count))
        var out = [CurvePoint(x: 0, y: 0)]
        for (i, s) in shares.enumerated() {
            out.append(CurvePoint(x: Double(i) * width, y: s))
            out.append(CurvePoint(x: Double(i + 1) * width, y: s))
        }
        out.append(CurvePoint(x: 1, y: 0))
        return out
    }
}
