// The Python yardstick (../shared/yardsticks/peer_pipeline.py: confluent-kafka + River +
// psycopg COPY, one transaction per batch with offsets), run in the same benchmark for its
// full and no-model rates, when python3 can import what it needs.
import Foundation

enum Yardstick {
    struct Rates { var full: Double; var noModels: Double }

    /// nil when the script or its Python packages are missing.
    static func run(script: String, events: Int, brokers: String, databaseURL: String) throws -> Rates? {
        guard FileManager.default.fileExists(atPath: script),
              (try? python(["-c", "import confluent_kafka, river, psycopg"]))?.status == 0 else { return nil }
        func rate(_ variant: String) throws -> Double {
            // libpq (under psycopg) reads the password from PGPASSFILE, as Vigil does.
            let run = try python([script, "--n", String(events), "--variant", variant, "--json", "--bootstrap", brokers, "--dsn", databaseURL])
            guard run.status == 0, let line = run.output.split(separator: "\n").last,
                  let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let eps = object["eps"] as? Double else {
                throw YardstickFailed(variant: variant, output: String(run.output.suffix(2_000)))
            }
            print("yardstick \(variant): \(BenchReport.rate(eps)) events (\(events) events, one Python process)")
            return eps
        }
        return Rates(full: try rate("full"), noModels: try rate("noriver"))
    }

    struct YardstickFailed: Error, CustomStringConvertible {
        var variant: String
        var output: String
        var description: String { "the yardstick's \(variant) run failed: \(output)" }
    }

    private static func python(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
