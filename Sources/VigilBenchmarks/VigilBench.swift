// `vigil-bench NAME`: the benchmarks behind tools/bench, one subcommand each.
// Each prints human-readable lines and, as its very last line, one JSON object.
import ArgumentParser
import Foundation
import VigilML

@main
struct VigilBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil-bench",
        abstract: "Vigil's benchmarks. Run them through tools/bench NAME (release build, local stack).",
        subcommands: [SmokeBenchmark.self, KafkaBenchmark.self, PostgresBenchmark.self, ModelsBenchmark.self, FeaturesBenchmark.self, ScoringBenchmark.self, HotswapBenchmark.self, E2EBenchmark.self, DeliveryBenchmark.self, ReplayBenchmark.self, QualityBenchmark.self, AuditRowBenchmark.self, AuditVerifyBenchmark.self, AnalystQueryBenchmark.self, APIBenchmark.self]
    )

    /// As `vigil`: OpenBLAS is configured before any other thread starts (see `BLAS.configure`).
    static func main() async {
        BLAS.configure()
        await main(nil)
    }
}

/// What every benchmark shares: the local stack's settings and the closing JSON line.
enum BenchReport {
    static func environment(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw ValidationError("\(name) is not set; run through tools/bench (it starts the local stack)")
        }
        return value
    }

    /// Prints the figures as the last line: one JSON object with sorted keys.
    static func finish(_ figures: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    /// /proc/loadavg's three load averages ("?" where it cannot be read): how busy the machine was.
    static func loadAverage() -> String {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "?" }
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }

    static func rate(_ value: Double) -> String {
        value >= 1e6 ? String(format: "%.2fM/s", value / 1e6) : String(format: "%.0fk/s", value / 1e3)
    }
}
