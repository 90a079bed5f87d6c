// Progress of a replay on a terminal (rate, count, ETA); silent when stderr is not a terminal.
import Foundation

final class ReplayProgress: Sendable {
    let total: Int
    let name: String
    let enabled: Bool
    let began = ContinuousClock.now

    init(total: Int, name: String, enabled: Bool) {
        self.total = total
        self.name = name
        self.enabled = enabled && isatty(STDERR_FILENO) == 1
    }

    /// Called after every batch; draws at most every 2^16 events.
    func update(_ done: Int) {
        guard enabled, done & 0xFFFF < 256 || done == total else { return }
        let elapsed = (ContinuousClock.now - began).components
        let seconds = max(1e-9, Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18)
        let rate = Double(done) / seconds
        let eta = rate > 0 ? Double(total - done) / rate : 0
        FileHandle.standardError.write(Data(("\r\(name): " + String(format: "%d/%d events, %.0f events/s, ETA %.0f s   ", done, total, rate, eta)).utf8))
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
