// swift-log's handler for `vigil serve`: one JSON object per line (time, level, message,
// the logger's label, then the metadata sorted by key), so log shippers parse Vigil's own
// lines and librdkafka's alike without a grammar.
import Foundation
import Logging

public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    /// Where lines go (without the newline). Default: standard error.
    let sink: @Sendable (String) -> Void

    public init(label: String, level: Logger.Level = .info, sink: (@Sendable (String) -> Void)? = nil) {
        self.label = label
        self.logLevel = level
        self.sink = sink ?? JSONLogHandler.standardError
    }

    /// One write(2) per line, so lines from several threads never interleave.
    public static let standardError: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        sink(Self.line(level: event.level, message: event.message.description, label: label, metadata: merged, at: Date()))
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
                    file: String, function: String, line: UInt) {
        log(event: LogEvent(level: level, message: message, metadata: metadata, source: source, file: file, function: function, line: line))
    }

    static func line(level: Logger.Level, message: String, label: String, metadata: Logger.Metadata, at date: Date) -> String {
        var line = "{\"ts\":\(JSONText.string(Self.timestamp(date))),\"level\":\"\(Self.name(level))\",\"msg\":\(JSONText.string(message))"
        if label != ServiceLog.label { line += ",\"logger\":\(JSONText.string(label))" }
        for key in metadata.keys.sorted() {
            line += ",\(JSONText.string(key)):\(json(metadata[key]!))"
        }
        return line + "}"
    }

    /// swift-log's level names, but `warning` for `.warning` as before (`notice` and
    /// `critical` keep their own).
    static func name(_ level: Logger.Level) -> String { level.rawValue }

    /// RFC 3339 UTC with milliseconds.
    static func timestamp(_ date: Date) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        return formatMillis(millis)
    }

    private static func formatMillis(_ millis: Int64) -> String {
        let (days, ms) = millis.quotientAndRemainder(dividingBy: 86_400_000)
        // Hinnant's civil_from_days.
        let z = Int(days) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        let m = Int(ms)
        func pad(_ v: Int, _ w: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, w - s.count)) + s }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(m / 3_600_000, 2)):\(pad(m / 60_000 % 60, 2)):\(pad(m / 1000 % 60, 2)).\(pad(m % 1000, 3))Z"
    }

    /// Numbers stay numbers (Vigil's own fields are `Int64`/`Double`), anything else is text.
    static func json(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let s): return JSONText.string(s)
        case .stringConvertible(let v):
            switch v {
            case let i as Int64: return String(i)
            case let i as Int: return String(i)
            case let d as Double: return d.isFinite ? String(d) : JSONText.string(String(d))
            case let b as Bool: return b ? "true" : "false"
            default: return JSONText.string(v.description)
            }
        case .array(let values): return "[" + values.map(json).joined(separator: ",") + "]"
        case .dictionary(let d):
            return "{" + d.keys.sorted().map { "\(JSONText.string($0)):\(json(d[$0]!))" }.joined(separator: ",") + "}"
        }
    }
}
