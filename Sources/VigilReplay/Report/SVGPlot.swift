// A line plot as inline SVG: labelled ticks and grid lines on both axes, series, vertical
// markers with tooltips, and a legend. No scripts, no references outside the element.
import Foundation
import VigilML

struct SVGPlot {
    enum Stroke: Equatable {
        case solid, dashed, dotted

        var dashArray: String? {
            switch self {
            case .solid: nil
            case .dashed: "6 4"
            case .dotted: "2 3"
            }
        }
    }

    /// A point drawn as a dot, with the tooltip a reader gets on hovering it.
    struct Dot {
        var point: CurvePoint
        var note: String
    }

    struct Series {
        var name: String
        var color: String
        var stroke = Stroke.solid
        /// Each piece is one line; a missing value between pieces leaves a gap.
        var segments: [[CurvePoint]]
        var dots: [Dot] = []
    }

    /// A vertical line across the plot at `x` (a model publication, a threshold).
    struct Marker {
        var x: Double
        var color: String
        var note: String
    }

    /// Too many events to mark one by one (a learner that publishes every few batches): a short
    /// tick each along the top of the plot, one row per rug.
    struct Rug {
        var xs: [Double]
        var color: String
        var note: String
    }

    var title: String
    var x: PlotAxis
    var y: PlotAxis
    var series: [Series] = []
    var markers: [Marker] = []
    var rugs: [Rug] = []
    /// Legend entries for the markers and rugs (name, colour, a tick rather than a triangle), after the series'.
    var markerLegend: [(name: String, color: String, rug: Bool)] = []

    static let width = 600.0, height = 400.0
    static let left = 66.0, right = 16.0, bottom = 52.0
    static let font = "font-family=\"system-ui, sans-serif\""

    func svg() -> String {
        let w = Self.width, h = Self.height
        let (legend, legendHeight) = self.legend()
        // Rugs get a band of their own between the legend and the data.
        let rugTop = 30 + legendHeight + 8, top = rugTop + Double(rugs.count) * 9 + (rugs.isEmpty ? 0 : 4)
        let plotLeft = Self.left, plotRight = w - Self.right, plotBottom = h - Self.bottom
        func px(_ v: Double) -> Double { x.position(v, from: plotLeft, to: plotRight) }
        func py(_ v: Double) -> Double { y.position(v, from: plotBottom, to: top) }
        let e = ReportText.escape
        var s = "<svg class=\"plot\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" width=\"\(Int(w))\" height=\"\(Int(h))\" role=\"img\" aria-label=\"\(e(title))\" \(Self.font)>"
        s += "<title>\(e(title))</title><rect width=\"\(Int(w))\" height=\"\(Int(h))\" fill=\"#fff\"/>"
        s += "<text x=\"\(f(w / 2))\" y=\"20\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"600\">\(e(title))</text>\n"
        // Grid and ticks under the data.
        for t in x.ticks {
            let p = f(px(t.value))
            s += "<g class=\"tick x\"><line x1=\"\(p)\" y1=\"\(f(top))\" x2=\"\(p)\" y2=\"\(f(plotBottom))\" stroke=\"#e6e6e6\"/>"
            s += "<line x1=\"\(p)\" y1=\"\(f(plotBottom))\" x2=\"\(p)\" y2=\"\(f(plotBottom + 5))\" stroke=\"#444\"/>"
            s += "<text x=\"\(p)\" y=\"\(f(plotBottom + 19))\" text-anchor=\"middle\" font-size=\"12\">\(e(t.label))</text></g>\n"
        }
        for t in y.ticks {
            let p = f(py(t.value))
            s += "<g class=\"tick y\"><line x1=\"\(f(plotLeft))\" y1=\"\(p)\" x2=\"\(f(plotRight))\" y2=\"\(p)\" stroke=\"#e6e6e6\"/>"
            s += "<line x1=\"\(f(plotLeft - 5))\" y1=\"\(p)\" x2=\"\(f(plotLeft))\" y2=\"\(p)\" stroke=\"#444\"/>"
            s += "<text x=\"\(f(plotLeft - 8))\" y=\"\(f(py(t.value) + 4))\" text-anchor=\"end\" font-size=\"12\">\(e(t.label))</text></g>\n"
        }
        s += "<line x1=\"\(f(plotLeft))\" y1=\"\(f(plotBottom))\" x2=\"\(f(plotRight))\" y2=\"\(f(plotBottom))\" stroke=\"#444\"/>"
        s += "<line x1=\"\(f(plotLeft))\" y1=\"\(f(top))\" x2=\"\(f(plotLeft))\" y2=\"\(f(plotBottom))\" stroke=\"#444\"/>\n"
        s += "<text x=\"\(f((plotLeft + plotRight) / 2))\" y=\"\(f(h - 10))\" text-anchor=\"middle\" font-size=\"13\">\(e(x.label))</text>"
        let yMid = f((top + plotBottom) / 2)
        s += "<text x=\"16\" y=\"\(yMid)\" transform=\"rotate(-90 16 \(yMid))\" text-anchor=\"middle\" font-size=\"13\">\(e(y.label))</text>\n"
        for m in markers where m.x >= x.lower && m.x <= x.upper {
            let p = px(m.x)
            s += "<g class=\"marker\"><title>\(e(m.note))</title>"
            s += "<line x1=\"\(f(p))\" y1=\"\(f(top + 7))\" x2=\"\(f(p))\" y2=\"\(f(plotBottom))\" stroke=\"\(m.color)\" stroke-width=\"1\" stroke-dasharray=\"3 3\" opacity=\"0.8\"/>"
            s += "<polygon points=\"\(f(p - 4)),\(f(top)) \(f(p + 4)),\(f(top)) \(f(p)),\(f(top + 7))\" fill=\"\(m.color)\"/></g>\n"
        }
        for (row, rug) in rugs.enumerated() {
            let y0 = rugTop + Double(row) * 9, y1 = y0 + 7
            var seen = Set<String>()
            s += "<g class=\"rug\" stroke=\"\(rug.color)\" stroke-width=\"1\"><title>\(e(rug.note))</title>"
            for v in rug.xs where v >= x.lower && v <= x.upper {
                let p = f(px(v))
                if seen.insert(p).inserted { s += "<line x1=\"\(p)\" y1=\"\(f(y0))\" x2=\"\(p)\" y2=\"\(f(y1))\"/>" }  // one per 0.1 px
            }
            s += "</g>\n"
        }
        for series in self.series {
            let dash = series.stroke.dashArray.map { " stroke-dasharray=\"\($0)\"" } ?? ""
            for segment in series.segments where segment.count > 1 {
                var coordinates: [String] = []
                for point in segment {
                    let c = "\(f(px(point.x))),\(f(py(point.y)))"
                    if coordinates.last != c { coordinates.append(c) }  // what would draw over itself
                }
                s += "<polyline fill=\"none\" stroke=\"\(series.color)\" stroke-width=\"1.8\" stroke-linejoin=\"round\"\(dash) points=\"\(coordinates.joined(separator: " "))\"/>\n"
            }
            for dot in series.dots {
                s += "<circle cx=\"\(f(px(dot.point.x)))\" cy=\"\(f(py(dot.point.y)))\" r=\"2.8\" fill=\"\(series.color)\"><title>\(e(dot.note))</title></circle>"
            }
        }
        return s + legend + "</svg>\n"
    }

    /// The legend in rows under the title, wrapped to the width; its markup and height.
    func legend() -> (String, Double) {
        var entries: [(name: String, sample: (Double, Double) -> String)] = series.map { series in
            let dash = series.stroke.dashArray.map { " stroke-dasharray=\"\($0)\"" } ?? ""
            return (series.name, { x, y in
                "<line x1=\"\(f(x))\" y1=\"\(f(y - 4))\" x2=\"\(f(x + 24))\" y2=\"\(f(y - 4))\" stroke=\"\(series.color)\" stroke-width=\"2\"\(dash)/>"
            })
        }
        entries += markerLegend.map { marker in
            (marker.name, { x, y in
                marker.rug
                    ? (0..<4).map { "<line x1=\"\(f(x + 6 + Double($0) * 4))\" y1=\"\(f(y - 10))\" x2=\"\(f(x + 6 + Double($0) * 4))\" y2=\"\(f(y - 2))\" stroke=\"\(marker.color)\"/>" }.joined()
                    : "<polygon points=\"\(f(x + 8)),\(f(y - 9)) \(f(x + 16)),\(f(y - 9)) \(f(x + 12)),\(f(y - 2))\" fill=\"\(marker.color)\"/>"
            })
        }
        guard !entries.isEmpty else { return ("", 0) }
        var s = "<g class=\"legend\" font-size=\"12\">"
        var x = Self.left, row = 0
        for entry in entries {
            // About 6.4 px per character at 12 px: enough to keep entries apart.
            let width = 30 + Double(entry.name.count) * 6.4 + 16
            if x + width > Self.width - Self.right && x > Self.left {
                row += 1
                x = Self.left
            }
            let y = 42 + Double(row) * 17
            s += entry.sample(x, y) + "<text x=\"\(f(x + 30))\" y=\"\(f(y))\">\(ReportText.escape(entry.name))</text>"
            x += width
        }
        return (s + "</g>\n", Double(row + 1) * 17)
    }

    func f(_ v: Double) -> String { ReportText.fixed(v, 1) }
}
