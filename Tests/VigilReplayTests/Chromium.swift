// Headless Chromium for the report's browser test: screenshots, PDFs and the parsed DOM of a
// local file. Each run gets its own profile folder, so runs in parallel never share one.
import Foundation

enum Chromium {
    /// `VIGIL_CHROMIUM`, else the first of Debian's and other distributions' names on PATH.
    static let executable: String? = {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["VIGIL_CHROMIUM"], FileManager.default.isExecutableFile(atPath: path) { return path }
        let folders = (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            for folder in folders where FileManager.default.isExecutableFile(atPath: folder + "/" + name) { return folder + "/" + name }
        }
        return nil
    }()

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs Chromium headless on `file` with `arguments`; returns its standard output.
    /// Gives up after `timeout` seconds (the machine may be busy, so generously).
    static func run(_ arguments: [String], file: URL, timeout: Double = 240) throws -> Data {
        guard let executable else { throw Failure(description: "Chromium is not installed") }
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        var flags = ["--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                     "--disable-background-networking", "--disable-sync", "--force-device-scale-factor=1", "--hide-scrollbars",
                     "--user-data-dir=\(profile.path)"]
        if getuid() == 0 { flags.append("--no-sandbox") }  // Chromium refuses to sandbox as root (CI containers)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = flags + arguments + [file.absoluteString]
        let output = Pipe(), errors = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-chromium-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errors) }
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        // Read until Chromium closes its output: a DOM larger than the pipe's buffer would block it otherwise.
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        if process.terminationReason == .uncaughtSignal {
            throw Failure(description: "Chromium did not finish within \(Int(timeout)) s (or was killed): \(arguments)")
        }
        guard process.terminationStatus == 0 else {
            let log = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw Failure(description: "Chromium exited with \(process.terminationStatus): \(log.suffix(2000))")
        }
        return data
    }

    static func screenshot(_ file: URL, width: Int, height: Int, to png: URL) throws -> PNGImage {
        _ = try run(["--window-size=\(width),\(height)", "--screenshot=\(png.path)"], file: file)
        return try PNGImage([UInt8](Data(contentsOf: png)))
    }

    static func printToPDF(_ file: URL, to pdf: URL) throws -> Data {
        _ = try run(["--no-pdf-header-footer", "--print-to-pdf=\(pdf.path)"], file: file)
        return try Data(contentsOf: pdf)
    }

    static func dumpDOM(_ file: URL) throws -> String {
        String(decoding: try run(["--dump-dom"], file: file), as: UTF8.self)
    }

    /// Pages of a PDF Chromium wrote: its page objects (Skia writes them uncompressed).
    static func pageCount(_ pdf: Data) -> Int {
        let text = String(decoding: pdf, as: Unicode.ASCII.self)
        return text.components(separatedBy: "/Type /Page").dropFirst().filter { !$0.hasPrefix("s") }.count
    }
}
