// The report as a reader gets it: rendered by headless Chromium, it fits a 1280 px screen,
// every plot has labelled ticks, and it prints one A4 page per section.
//
// VIGIL_REPORT_SCREENSHOT=docs/replay-report.png swift test --filter ReportBrowserTests
// also writes the fixture's screenshot there (docs/replay.md shows it).
import Foundation
import Testing
@testable import VigilReplay

@Suite(.enabled(if: Chromium.executable != nil,
                "Chromium is not installed, so the report is not checked in a browser: tools/bootstrap installs Debian's chromium (or set VIGIL_CHROMIUM)"))
struct ReportBrowserTests {
    static let screen = 1280

    /// The report with its root held to `screen` px, for a window wider than that: anything
    /// painted right of `screen` is content the page could not fit (no script involved).
    static func probe(_ html: String) -> String {
        html.replacingOccurrences(of: "</head>", with: "<style>html{width:\(screen)px;overflow:hidden}</style></head>")
    }

    /// The first pixel right of `width` that is not the page's white, if any.
    static func overflow(_ image: PNGImage, beyond width: Int) -> (x: Int, y: Int)? {
        for y in 0..<image.height {
            for x in width..<image.width where image.rgb(x, y) != (255, 255, 255) { return (x, y) }
        }
        return nil
    }

    /// Rows down to the last one with anything but white: the page's height.
    static func contentHeight(_ image: PNGImage) -> Int {
        for y in stride(from: image.height - 1, through: 0, by: -1) {
            for x in 0..<image.width where image.rgb(x, y) != (255, 255, 255) { return y + 1 }
        }
        return 0
    }

    /// Labelled ticks per axis in each plot's SVG, as Chromium parsed the page.
    static func ticks(inDOM dom: String) -> [(x: Int, y: Int)] {
        dom.components(separatedBy: "<svg class=\"plot\"").dropFirst().map { plot in
            let svg = plot.components(separatedBy: "</svg>")[0]
            func labelled(_ axis: String) -> Int {
                svg.components(separatedBy: "<g class=\"tick \(axis)\">").dropFirst().filter { tick in
                    guard let text = tick.components(separatedBy: "</g>").first?.components(separatedBy: "<text").dropFirst().first,
                          let label = text.split(separator: ">", maxSplits: 1).last?.components(separatedBy: "</text>").first else { return false }
                    return !label.trimmingCharacters(in: .whitespaces).isEmpty
                }.count
            }
            return (labelled("x"), labelled("y"))
        }
    }

    @Test func theFixtureReportFitsTheScreenHasTicksOnEveryPlotAndPrintsAPagePerSection() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func file(_ name: String, _ text: String) throws -> URL {
            let url = folder.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return url
        }
        let html = HTMLReport.render(try ReportFixture.runs())
        let report = try file("report.html", html)

        // No horizontal overflow at 1280 px, over the whole page (the window is taller than it).
        let shot = try Chromium.screenshot(try file("probe.html", Self.probe(html)), width: Self.screen + 320, height: 9000,
                                           to: folder.appendingPathComponent("probe.png"))
        let height = Self.contentHeight(shot)
        #expect(height > 1000 && height < shot.height - 100, "page height \(height) px: the probe window must be taller than the page")
        let spill = Self.overflow(shot, beyond: Self.screen)
        #expect(spill == nil, "content at x = \(spill?.x ?? 0), y = \(spill?.y ?? 0): wider than \(Self.screen) px")
        // The probe does see overflow: one unbreakable cell wider than the screen.
        let wide = "<table><tr><td style=\"white-space:nowrap\">" + String(repeating: "trainer=labels_per_step ", count: 80) + "</td></tr></table>"
        let control = try Chromium.screenshot(try file("control.html", Self.probe(html.replacingOccurrences(of: "</header>", with: "</header>" + wide))),
                                              width: Self.screen + 320, height: 1200, to: folder.appendingPathComponent("control.png"))
        #expect(Self.overflow(control, beyond: Self.screen) != nil, "the probe missed a table wider than the screen")

        // Every plot's SVG has labelled ticks on both axes.
        let ticks = Self.ticks(inDOM: try Chromium.dumpDOM(report))
        #expect(ticks.count == 5, "plots: \(ticks.count)")  // PR, ROC, risk, alert rate and AUPRC over time
        for (i, t) in ticks.enumerated() { #expect(t.x >= 3 && t.y >= 3, "plot \(i): \(t.x) x ticks, \(t.y) y ticks") }

        // Printed on A4, each section starts a page and each of the fixture's fits on one: a
        // plot or table split across pages, or a section that spills over, changes the count.
        let pdf = try Chromium.printToPDF(report, to: folder.appendingPathComponent("report.pdf"))
        #expect(Chromium.pageCount(pdf) == HTMLReport.sections.count, "\(Chromium.pageCount(pdf)) pages for \(HTMLReport.sections.count) sections")

        if let target = ProcessInfo.processInfo.environment["VIGIL_REPORT_SCREENSHOT"] {
            let png = URL(fileURLWithPath: target)
            _ = try Chromium.screenshot(report, width: Self.screen, height: height + 8, to: png)
        }
    }
}
