// `vigil score`: posts events (one JSON object per line, from a file or standard input) to a
// serve's scoring endpoint and prints each answer as one line, for operators and tests.
import ArgumentParser
import Foundation
import VigilService

struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score events synchronously through a running `vigil serve --api`.",
        discussion: """
            Reads events (the transactions topic's JSON contract, one object per line) from FILE or standard input (-),
            posts each to URL/v1/score on one keep-alive connection, and prints one line per event: the decision's JSON
            for 200, else {"status": N, "error": ..., "message": ...}. Exit codes: 0 every event decided, 1 some refused
            (400, 429, 503), 69 the endpoint unreachable, 66 FILE unreadable.
            """
    )

    @Option(help: "Base URL of the scoring endpoint, e.g. http://127.0.0.1:8080.") var url = "http://127.0.0.1:8080"
    @Argument(help: "File of events, one JSON object per line, or - for standard input.") var file = "-"

    func run() throws {
        let client: ScoringClient
        do { client = try ScoringClient(url: url) } catch { throw ValidationError("\(error)") }
        let input: FileHandle
        if file == "-" {
            input = .standardInput
        } else if let handle = FileHandle(forReadingAtPath: file) {
            input = handle
        } else {
            FileHandle.standardError.write(Data("vigil score: cannot read \(file)\n".utf8))
            throw ExitCode(66)
        }
        var refused = 0
        var pending = Data()
        func post(_ line: Data) throws {
            guard line.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0d }) else { return }
            let response: ScoringClient.Response
            do { response = try client.post("/v1/score", body: Array(line)) } catch {
                FileHandle.standardError.write(Data("vigil score: \(url) unreachable: \(error)\n".utf8))
                throw ExitCode(69)
            }
            if response.status == 200 {
                FileHandle.standardOutput.write(Data(response.body + [0x0a]))
            } else {
                refused += 1
                let detail = response.body.count > 2 ? "," + String(decoding: response.body.dropFirst(), as: UTF8.self) : "}"
                FileHandle.standardOutput.write(Data(#"{"status":\#(response.status)\#(detail)"#.utf8 + [0x0a]))
            }
        }
        while true {
            let chunk = input.availableData
            if chunk.isEmpty { break }
            pending.append(chunk)
            while let newline = pending.firstIndex(of: 0x0a) {
                try post(pending[pending.startIndex..<newline])
                pending.removeSubrange(pending.startIndex...newline)
            }
        }
        try post(pending)
        if refused > 0 { throw ExitCode(1) }
    }
}
