// Progress of `vigil gen`: a live line on a terminal, a JSON line every few seconds otherwise.
import Foundation

struct GenProgress {
    let quiet: Bool
    let totalTransactions: Int?
    let totalDays: Int?
    let isTerminal = isatty(STDERR_FILENO) != 0
    let started = ContinuousClock.now
    var lastReport = ContinuousClock.now

    init(quiet: Bool, totalTransactions: Int?, totalDays: Int?) {
        self.quiet = quiet
        self.totalTransactions = totalTransactions
        self.totalDays = totalDays
    }

    var elapsedSeconds: Double {
        let d = ContinuousClock.now - started
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    mutating func update(transactions: Int, labels: Int, day: Int) {
        guard !quiet else { return }
        let now = ContinuousClock.now
        guard now - lastReport >= (isTerminal ? .milliseconds(250) : .seconds(5)) else { return }
        lastReport = now
        report(transactions: transactions, labels: labels, day: day, final: false)
    }

    mutating func finish(transactions: Int, labels: Int, day: Int) {
        guard !quiet else { return }
        report(transactions: transactions, labels: labels, day: day, final: true)
    }

    private func report(transactions: Int, labels: Int, day: Int, final: Bool) {
        let elapsed = max(elapsedSeconds, 1e-9)
        let rate = Double(transactions) / elapsed
        var fraction: Double?
        if let totalTransactions { fraction = Double(transactions) / Double(totalTransactions) }
        if let totalDays { fraction = max(fraction ?? 0, Double(day) / Double(totalDays)) }
        let eta = fraction.flatMap { $0 > 0 && $0 < 1 ? elapsed * (1 - $0) / $0 : nil }
        if isTerminal {
            let percent = fraction.map { String(format: "%5.1f%% ", min($0, 1) * 100) } ?? ""
            let etaText = eta.map { String(format: " ETA %d:%02d", Int($0) / 60, Int($0) % 60) } ?? ""
            FileHandle.standardError.write(Data("\r\u{1B}[K\(percent)\(transactions) transactions, \(labels) labels, day \(day), \(Int(rate))/s\(etaText)\(final ? "\n" : "")".utf8))
        } else {
            var line = #"{"progress":{"transactions":\#(transactions),"labels":\#(labels),"day":\#(day),"rate_per_s":\#(Int(rate))"#
            if let eta { line += #","eta_s":\#(Int(eta))"# }
            line += final ? #","done":true}}"# : "}}"
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }
}
