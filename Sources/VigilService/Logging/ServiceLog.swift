// Structured logs: one JSON object per line on standard error, so log shippers parse them
// without a grammar. Values are strings or numbers; secrets never go in here.
import Foundation
import Synchronization

/// A minimal structured logger (no dependency): `level`, `msg`, the time and flat fields.
public struct ServiceLog: Sendable {
    public enum Level: Int, Sendable, Comparable {
        case debug, info, warning, error
        var name: String { switch self { case .debug: "debug"; case .info: "info"; case .warning: "warning"; case .error: "error" } }
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    public var minimumLevel: Level
    /// Where lines go. Default: standard error.
    let sink: @Sendable (String) -> Void

    public init(minimumLevel: Level = .info, sink: (@Sendable (String) -> Void)? = nil) {
        self.minimumLevel = minimumLevel
        self.sink = sink ?? { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }

    /// A logger that drops everything (tests that do not look at logs).
    public static let silent = ServiceLog(minimumLevel: .error, sink: { _ in })

    public func log(_ level: Level, _ message: String, _ fields: [String: LogValue] = [:]) {
        guard level >= minimumLevel else { return }
        var line = "{\"ts\":\(JSONText.string(ISO8601DateFormatter().string(from: Date()))),\"level\":\"\(level.name)\",\"msg\":\(JSONText.string(message))"
        for key in fields.keys.sorted() {
            line += ",\(JSONText.string(key)):\(fields[key]!.json)"
        }
        line += "}"
        sink(line)
    }

    public func info(_ message: String, _ fields: [String: LogValue] = [:]) { log(.info, message, fields) }
    public func warning(_ message: String, _ fields: [String: LogValue] = [:]) { log(.warning, message, fields) }
    public func error(_ message: String, _ fields: [String: LogValue] = [:]) { log(.error, message, fields) }
    public func debug(_ message: String, _ fields: [String: LogValue] = [:]) { log(.debug, message, fields) }
}

/// A field value of a log line.
public enum LogValue: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case string(String)
    case int(Int64)
    case double(Double)

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }

    var json: String {
        switch self {
        case .string(let s): return JSONText.string(s)
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? String(d) : JSONText.string(String(d))
        }
    }
}

/// JSON text building for logs and the reasons column.
enum JSONText {
    /// `s` as a JSON string literal, with quotes, backslashes and control characters escaped.
    static func string(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
