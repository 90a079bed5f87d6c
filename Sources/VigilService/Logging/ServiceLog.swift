// Structured logs through swift-log: Vigil's own lines and librdkafka's go through one
// `Logger`, whose JSONLogHandler writes one JSON object per line on standard error. Values
// are strings or numbers; secrets never go in here.
import Foundation
import Logging
import VigilKafka

/// Vigil's logging front: flat fields of strings and numbers on a swift-log `Logger`.
public struct ServiceLog: Sendable {
    public typealias Level = Logger.Level

    /// The label of Vigil's own logger (lines of other labels name theirs).
    public static let label = "vigil"

    public var logger: Logger

    public var minimumLevel: Level { logger.logLevel }

    /// Wraps a logger set up by the caller (any handler).
    public init(logger: Logger) {
        self.logger = logger
    }

    /// A JSON-lines logger at `minimumLevel`, writing to `sink` (default: standard error).
    public init(minimumLevel: Level = .info, sink: (@Sendable (String) -> Void)? = nil) {
        let handler = JSONLogHandler(label: Self.label, level: minimumLevel, sink: sink)
        self.logger = Logger(label: Self.label, factory: { _ in handler })
    }

    /// A logger that drops everything (tests that do not look at logs).
    public static let silent = ServiceLog(logger: Logger(label: label, factory: { _ in SwiftLogNoOpLogHandler() }))

    public func log(_ level: Level, _ message: String, _ fields: [String: LogValue] = [:]) {
        guard level >= logger.logLevel else { return }
        logger.log(level: level, "\(message)", metadata: fields.isEmpty ? nil : fields.mapValues(\.metadata))
    }

    public func info(_ message: String, _ fields: [String: LogValue] = [:]) { log(.info, message, fields) }
    public func warning(_ message: String, _ fields: [String: LogValue] = [:]) { log(.warning, message, fields) }
    public func error(_ message: String, _ fields: [String: LogValue] = [:]) { log(.error, message, fields) }
    public func debug(_ message: String, _ fields: [String: LogValue] = [:]) { log(.debug, message, fields) }

    /// librdkafka's lines into this logger at their own levels (syslog 0-3 error, 4 warning,
    /// 5 notice, 6 info, 7 debug), with the facility and client name as fields.
    public var kafkaLogHandler: KafkaLogHandler {
        let log = self
        return { line in
            log.log(Self.level(syslog: line.level), line.message,
                    ["source": "librdkafka", "facility": .string(line.facility), "client": .string(line.client)])
        }
    }

    static func level(syslog: Int32) -> Level {
        switch syslog {
        case ...3: .error
        case 4: .warning
        case 5: .notice
        case 6: .info
        default: .debug
        }
    }

    /// librdkafka's `log_level` that lets through what this logger shows.
    public var librdkafkaLogLevel: Int {
        switch logger.logLevel {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error, .critical: 3
        }
    }
}

/// A field value of a log line.
public enum LogValue: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case string(String)
    case int(Int64)
    case double(Double)

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }

    var metadata: Logger.MetadataValue {
        switch self {
        case .string(let s): .string(s)
        case .int(let i): .stringConvertible(i)
        case .double(let d): .stringConvertible(d)
        }
    }
}
