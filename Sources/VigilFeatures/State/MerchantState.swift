// What Vigil remembers about one merchant or terminal: activity and label-based risk.

/// Streaming per-merchant (or per-terminal) state: 24 bytes (+ 8 for its key).
public struct MerchantState: EntityRecord, Equatable {
    /// Event time of the last update, in Unix seconds.
    public var lastSeconds: UInt32
    /// Decayed transaction counts over 1 h and 24 h, as of `lastSeconds`.
    public var count1h: Float
    public var count24h: Float
    /// Decayed amount sum over 24 h.
    public var sum24h: Float
    /// Decayed (30 d) counts of fraud labels and of all labels received for its transactions.
    public var fraudLabels: Float
    public var labels: Float

    public static let empty = MerchantState(lastSeconds: 0, count1h: 0, count24h: 0, sum24h: 0, fraudLabels: 0, labels: 0)

    public init(lastSeconds: UInt32, count1h: Float, count24h: Float, sum24h: Float, fraudLabels: Float, labels: Float) {
        self.lastSeconds = lastSeconds
        self.count1h = count1h
        self.count24h = count24h
        self.sum24h = sum24h
        self.fraudLabels = fraudLabels
        self.labels = labels
    }

    /// Fraud rate smoothed towards `prior` with the weight of `priorWeight` labels, so a
    /// merchant with one fraud label out of one is not rated 100% risky.
    public func risk(prior: Float, priorWeight: Float) -> Float {
        (fraudLabels + prior * priorWeight) / (labels + priorWeight)
    }

    public func write(to writer: inout SnapshotWriter) {
        writer.write(lastSeconds)
        writer.write(count1h)
        writer.write(count24h)
        writer.write(sum24h)
        writer.write(fraudLabels)
        writer.write(labels)
    }

    public init(from reader: inout SnapshotReader) throws(FeaturesError) {
        lastSeconds = try reader.read()
        count1h = try reader.readFloat()
        count24h = try reader.readFloat()
        sum24h = try reader.readFloat()
        fraudLabels = try reader.readFloat()
        labels = try reader.readFloat()
    }
}
