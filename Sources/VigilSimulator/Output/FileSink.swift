// Writes transactions and labels to two files, buffered, in JSON Lines or CSV.
import Foundation

public final class FileSink: SimulationSink {
    public let format: SimulationFileFormat
    /// Adds ground truth (`fraud`, `scenario`) to each transaction.
    public let includeTruth: Bool
    private let transactions: BufferedFile
    private let labels: BufferedFile

    /// Creates (or truncates) `transactionsPath` and `labelsPath`.
    public init(transactionsPath: String, labelsPath: String, format: SimulationFileFormat, includeTruth: Bool) throws {
        self.format = format
        self.includeTruth = includeTruth
        transactions = try BufferedFile(path: transactionsPath)
        labels = try BufferedFile(path: labelsPath)
        if format == .csv {
            try transactions.append(SimulatedTransaction.csvHeader + (includeTruth ? ",fraud,scenario" : ""))
            try labels.append(SimulatedLabel.csvHeader)
        }
    }

    public func write(_ transaction: SimulatedTransaction) async throws {
        try transactions.append(format == .jsonl ? transaction.json(truth: includeTruth) : transaction.csv(truth: includeTruth))
    }

    public func write(_ label: SimulatedLabel) async throws {
        try labels.append(format == .jsonl ? label.json() : label.csv())
    }

    public func finish() async throws {
        try transactions.close()
        try labels.close()
    }
}

/// A file written line by line through a 1 MiB buffer.
final class BufferedFile {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    let path: String

    init(path: String) throws {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw SimulatorError(.output, "cannot create \(path)")
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw SimulatorError(.output, "cannot open \(path) for writing") }
        self.handle = handle
        buffer.reserveCapacity(1 << 20)
    }

    func append(_ line: String) throws {
        buffer.append(contentsOf: line.utf8)
        buffer.append(0x0A)
        if buffer.count >= 1 << 20 { try flush() }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        do { try handle.write(contentsOf: buffer) } catch { throw SimulatorError(.output, "cannot write \(path)", underlying: error) }
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        try flush()
        try handle.close()
    }
}
