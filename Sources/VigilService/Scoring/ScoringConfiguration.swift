// Settings of synchronous scoring (`vigil serve --api`, config object `api`, VIGIL_API_...):
// where the HTTP endpoint listens, how much it admits, how requests are grouped into the batch
// loop's transactions and when an answer may leave (after COMMIT, or before it).
import Foundation

public struct ScoringConfiguration: Sendable, Equatable {
    /// When the answer is sent.
    public enum Commit: String, Sendable, CaseIterable {
        /// After the transaction holding the decision row committed: an answered decision is
        /// always in `decisions` (and `alerts`).
        case durable
        /// As soon as the decision is made, while its transaction is still running. Saves the
        /// commit wait; a crash or a failed write after the answer leaves an answered decision
        /// without its row (docs/api.md, "Relaxed commit").
        case relaxed
    }

    /// How a card id maps to a partition of the transactions topic: the producers' partitioner,
    /// so the member that owns a card's stream events also answers its API requests.
    public enum Partitioner: String, Sendable, CaseIterable {
        /// librdkafka's default (`consistent_random`): CRC-32 of the key.
        case consistent
        /// The Java client's default: murmur2 of the key.
        case murmur2
    }

    /// Serve `POST /v1/score`. Default: false (flag `--api`, file `api.enabled`, env VIGIL_API=1).
    public var enabled = false
    /// Address the scoring endpoint binds to. Default: "127.0.0.1" (file `api.address`, env
    /// VIGIL_API_ADDRESS, flag `--api-address`).
    public var address = "127.0.0.1"
    /// Its TCP port. Default: 8080 (file `api.port`, env VIGIL_API_PORT, flag `--api-port`).
    public var port = 8080
    /// Requests admitted and not yet answered; one more is refused with 429 and Retry-After,
    /// never queued. Default: 1,024 (file `api.max_in_flight`, env VIGIL_API_MAX_IN_FLIGHT).
    public var maxInFlight = 1_024
    /// Most requests the batch loop takes into one transaction. Default: 512 (file
    /// `api.batch_size`, env VIGIL_API_BATCH_SIZE).
    public var batchSize = 512
    /// Most events in one `POST /v1/score/batch`. Default: 100 (file `api.max_batch_events`).
    public var maxBatchEvents = 100
    /// Default: `.durable` (file `api.commit`, env VIGIL_API_COMMIT, flag `--api-commit`).
    public var commit: Commit = .durable
    /// A request not answered within this long gets 503 with Retry-After; its decision may
    /// still be committed, and a retry with the same event id then returns it. Default: 2 s
    /// (file `api.request_timeout_ms`).
    public var requestTimeout: Duration = .seconds(2)
    /// Default: `.consistent` (file `api.partitioner`).
    public var partitioner: Partitioner = .consistent
    /// Seconds a refused client is told to wait (Retry-After). Default: 1 (file `api.retry_after_s`).
    public var retryAfterSeconds = 1

    public init() {}

    struct FileSettings: Decodable {
        struct API: Decodable {
            var enabled: Bool?
            var address: String?
            var port: Int?
            var max_in_flight: Int?
            var batch_size: Int?
            var max_batch_events: Int?
            var commit: String?
            var request_timeout_ms: Int?
            var partitioner: String?
            var retry_after_s: Int?
        }
        var api: API?
    }

    /// Applies the `api` object of a config file already read (other keys are ignored).
    mutating func apply(fileData data: Data, file: String) throws {
        let settings: FileSettings
        do { settings = try JSONDecoder().decode(FileSettings.self, from: data) } catch {
            throw ServiceError(.invalidConfiguration, "config file \(file) is not valid", underlying: error)
        }
        guard let api = settings.api else { return }
        if let v = api.enabled { enabled = v }
        if let v = api.address { address = v }
        if let v = api.port { port = v }
        if let v = api.max_in_flight { maxInFlight = v }
        if let v = api.batch_size { batchSize = v }
        if let v = api.max_batch_events { maxBatchEvents = v }
        if let v = api.commit { commit = try Self.commit(v) }
        if let v = api.request_timeout_ms { requestTimeout = .milliseconds(v) }
        if let v = api.partitioner {
            guard let p = Partitioner(rawValue: v) else {
                throw ServiceError(.invalidConfiguration, "api.partitioner must be consistent or murmur2, got \(v)")
            }
            partitioner = p
        }
        if let v = api.retry_after_s { retryAfterSeconds = v }
    }

    mutating func apply(environment: [String: String]) throws {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        func number(_ name: String) throws -> Int? {
            guard let v = value(name) else { return nil }
            guard let n = Int(v) else { throw ServiceError(.invalidConfiguration, "\(name) must be a whole number, got \(v)") }
            return n
        }
        if let v = value("VIGIL_API") { enabled = ["1", "true", "yes", "on"].contains(v.lowercased()) }
        if let v = value("VIGIL_API_ADDRESS") { address = v }
        if let v = try number("VIGIL_API_PORT") { port = v }
        if let v = try number("VIGIL_API_MAX_IN_FLIGHT") { maxInFlight = v }
        if let v = try number("VIGIL_API_BATCH_SIZE") { batchSize = v }
        if let v = value("VIGIL_API_COMMIT") { commit = try Self.commit(v) }
    }

    static func commit(_ text: String) throws -> Commit {
        guard let c = Commit(rawValue: text) else {
            throw ServiceError(.invalidConfiguration, "api commit must be durable or relaxed, got \(text)")
        }
        return c
    }

    public func validate() throws {
        func fail(_ message: String) -> ServiceError { ServiceError(.invalidConfiguration, message) }
        guard (0...65_535).contains(port) else { throw fail("api port must be in 0...65535, got \(port)") }
        guard !address.isEmpty else { throw fail("api address must not be empty") }
        guard maxInFlight > 0 else { throw fail("api.max_in_flight must be positive, got \(maxInFlight)") }
        guard batchSize > 0 else { throw fail("api.batch_size must be positive, got \(batchSize)") }
        guard (1...10_000).contains(maxBatchEvents) else { throw fail("api.max_batch_events must be in 1...10000, got \(maxBatchEvents)") }
        guard requestTimeout > .zero else { throw fail("api.request_timeout_ms must be positive") }
        guard (0...3_600).contains(retryAfterSeconds) else { throw fail("api.retry_after_s must be in 0...3600") }
    }
}
