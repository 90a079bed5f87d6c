// How to reach PostgreSQL: libpq connection keywords (parsed from a URL or given
// directly) plus this wrapper's own reconnect policy.
import CLibPQ

/// Connection settings. Everything libpq understands is passed through as
/// keywords (host, port, dbname, user, sslmode, sslrootcert, target_session_attrs...).
///
/// Passwords should come from PGPASSFILE/.pgpass or PGPASSWORD: libpq reads those
/// itself. A password inside the URL works but is never printed: `description`
/// redacts it.
public struct PostgresConfiguration: Sendable, CustomStringConvertible {
    /// libpq connection keywords and values. Default: empty (libpq's own
    /// defaults and PG* environment variables apply).
    public var keywords: [String: String]

    /// Retry policy when a connection has to be (re)established.
    public struct Reconnect: Sendable {
        /// Attempts before giving up with a `connectionFailed` error. Default: 5.
        public var maxAttempts: Int = 5
        /// Wait after the first failed attempt; doubles each time. Default: 100 ms.
        public var initialBackoff: Duration = .milliseconds(100)
        /// Longest wait between attempts. Default: 5 s.
        public var maxBackoff: Duration = .seconds(5)
        public init() {}

        /// The wait after the given failed attempt (1-based).
        public func backoff(afterAttempt attempt: Int) -> Duration {
            var wait = initialBackoff
            for _ in 1..<max(1, attempt) where wait < maxBackoff { wait *= 2 }
            return min(wait, maxBackoff)
        }
    }

    /// Default: 5 attempts, 100 ms doubling up to 5 s.
    public var reconnect = Reconnect()

    /// Session settings the value decoder relies on, sent in the startup packet
    /// (`options`), so they also hold after a reconnect: timestamps come back in
    /// ISO format in UTC and floats with full precision.
    static let sessionOptions = "-c TimeZone=UTC -c DateStyle=ISO -c extra_float_digits=3"

    /// Keywords, e.g. `["host": "db", "dbname": "vigil", "sslmode": "verify-full"]`.
    public init(keywords: [String: String]) {
        self.keywords = keywords
    }

    /// Parses a `postgresql://user@host:port/db?sslmode=require` URL or a
    /// `host=... dbname=...` keyword string, with libpq's own parser.
    public init(url: String) throws {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(url, &errorMessage) else {
            // The URL may hold a password: do not quote it back.
            let message = errorMessage.map { String(cString: $0) } ?? "out of memory"
            if let errorMessage { PQfreemem(errorMessage) }
            throw PostgresError(.invalidConfiguration, reason: "connection string not understood: \(Self.redactingQuotes(message))")
        }
        defer { PQconninfoFree(options) }
        var keywords: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { keywords[String(cString: keyword)] = String(cString: value) }
            option += 1
        }
        self.init(keywords: keywords)
    }

    /// From `VIGIL_DATABASE_URL` when set, else libpq's PG* environment defaults.
    public static func fromEnvironment(_ environment: [String: String]) throws -> PostgresConfiguration {
        if let url = environment["VIGIL_DATABASE_URL"], !url.isEmpty { return try PostgresConfiguration(url: url) }
        return PostgresConfiguration(keywords: [:])
    }

    /// The keyword/value pairs handed to PQconnectdbParams: the only place
    /// configuration becomes C strings.
    func connectionParameters() -> [(String, String)] {
        var result = keywords.filter { $0.key != "options" && $0.key != "fallback_application_name" }
            .sorted { $0.key < $1.key }
            .map { ($0.key, $0.value) }
        let userOptions = keywords["options"].map { " " + $0 } ?? ""
        result.append(("options", Self.sessionOptions + userOptions))
        result.append(("fallback_application_name", keywords["fallback_application_name"] ?? "vigil"))
        if keywords["connect_timeout"] == nil { result.append(("connect_timeout", "10")) }
        return result
    }

    /// Keywords with the password replaced, safe for logs.
    public var description: String {
        let shown = keywords.sorted { $0.key < $1.key }.map { key, value in
            key == "password" ? "password=<redacted>" : "\(key)=\(value)"
        }
        return "PostgresConfiguration(\(shown.joined(separator: " ")))"
    }

    /// libpq's parse errors quote the offending part of the string; drop quoted text.
    private static func redactingQuotes(_ message: String) -> String {
        var out = ""
        var inQuote = false
        for character in message.trimmingTrailingNewlines() {
            if character == "\"" { inQuote.toggle(); out.append(inQuote ? "\"…" : "\""); continue }
            if !inQuote { out.append(character) }
        }
        return out
    }
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var text = self
        while text.last == "\n" || text.last == " " { text.removeLast() }
        return text
    }
}
