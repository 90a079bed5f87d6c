// Runs a program to completion for a test and keeps what it printed: the `vigil` binary
// (gen, replay, serve --help), system tools (objdump, ldd, dpkg) and shell scripts.
import Foundation

/// A finished child process.
struct ChildProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum ChildProcess {
    /// Runs `executable` with `arguments` until it exits. Standard error goes to a temporary
    /// file rather than a second pipe, so a child that writes much to it cannot stall on a
    /// full pipe while standard output is being read.
    static func run(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil) throws -> ChildProcessResult {
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-child-\(UUID().uuidString).stderr")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errors) }
        let errorHandle = try FileHandle(forWritingTo: errors)
        defer { try? errorHandle.close() }

        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = errorHandle
        try process.run()
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stderr = (try? Data(contentsOf: errors)) ?? Data()
        return ChildProcessResult(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                                  stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Runs a tool by path.
    static func run(_ path: String, _ arguments: [String]) throws -> ChildProcessResult {
        try run(URL(fileURLWithPath: path), arguments)
    }

    /// Runs the `vigil` executable built next to the tests.
    static func vigil(_ arguments: [String]) throws -> ChildProcessResult {
        try run(ServeCrashTests.vigilExecutable(), arguments)
    }
}
