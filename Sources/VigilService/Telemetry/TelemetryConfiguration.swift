// Settings of the operations endpoint of `vigil serve` (/metrics, /healthz, /readyz), read
// from the same JSON config file and environment as ServeConfiguration.
import Foundation

public struct TelemetryConfiguration: Sendable, Equatable {
    /// TCP port of the HTTP endpoint; 0 disables it. Default: 9464 (file `metrics_port`,
    /// env VIGIL_METRICS_PORT, flag --metrics-port).
    public var port = 9464
    /// Address the endpoint binds to. Default: "127.0.0.1", so metrics are not exposed
    /// beyond the host unless asked (file `metrics_address`, env VIGIL_METRICS_ADDRESS).
    public var address = "127.0.0.1"
    /// /healthz fails when the batch loop has not completed an iteration for this long. A
    /// loop iteration is bounded by the batch wait plus one transaction, so the default is
    /// generous. Default: 60 s (file `health_stall_ms`).
    public var stallLimit: Duration = .seconds(60)
    /// How often consumer lag is asked from the broker (one watermark query per partition).
    /// Default: 5 s (file `lag_interval_ms`).
    public var lagInterval: Duration = .seconds(5)

    public init() {}

    public var isEnabled: Bool { port != 0 }

    struct FileSettings: Decodable {
        var metrics_port: Int?
        var metrics_address: String?
        var health_stall_ms: Int?
        var lag_interval_ms: Int?
    }

    /// Applies the telemetry keys of a config file already read (other keys are ignored).
    mutating func apply(fileData data: Data, file: String) throws {
        let settings: FileSettings
        do { settings = try JSONDecoder().decode(FileSettings.self, from: data) } catch {
            throw ServiceError(.invalidConfiguration, "config file \(file) is not valid", underlying: error)
        }
        if let v = settings.metrics_port { port = v }
        if let v = settings.metrics_address { address = v }
        if let v = settings.health_stall_ms { stallLimit = .milliseconds(v) }
        if let v = settings.lag_interval_ms { lagInterval = .milliseconds(v) }
    }

    mutating func apply(environment: [String: String]) throws {
        if let v = environment["VIGIL_METRICS_PORT"], !v.isEmpty {
            guard let port = Int(v) else { throw ServiceError(.invalidConfiguration, "VIGIL_METRICS_PORT must be a port number, got \(v)") }
            self.port = port
        }
        if let v = environment["VIGIL_METRICS_ADDRESS"], !v.isEmpty { address = v }
    }

    public func validate() throws {
        guard (0...65_535).contains(port) else { throw ServiceError(.invalidConfiguration, "metrics port must be in 0...65535, got \(port)") }
        guard !address.isEmpty else { throw ServiceError(.invalidConfiguration, "metrics address must not be empty") }
        guard stallLimit > .zero else { throw ServiceError(.invalidConfiguration, "health stall limit must be positive") }
        guard lagInterval > .zero else { throw ServiceError(.invalidConfiguration, "lag interval must be positive") }
    }
}
