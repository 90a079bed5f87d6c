// What Vigil remembers about one card: 85 bytes, stride 88 (+ 8 for its key in the table).
// Plain scalar fields and tuples rather than SIMD types: SIMD alignment would pad it to 128.

/// Streaming per-card state. Windows are exponentially decayed, so each "count over 24 h" is
/// one Float updated in O(1): value(t) = value(t0) * exp(-(t - t0) / window) + new.
public struct CardState: EntityRecord, Equatable {
    /// Event time of the last transaction, in Unix seconds.
    public var lastSeconds: UInt32 = 0
    /// Decayed transaction counts over 1 h, 24 h, 7 d, as of `lastSeconds`.
    public var count1h: Float = 0
    public var count24h: Float = 0
    public var count7d: Float = 0
    /// Decayed amount sums over 1 h, 24 h, 7 d, as of `lastSeconds`.
    public var sum1h: Float = 0
    public var sum24h: Float = 0
    public var sum7d: Float = 0
    /// Exponentially weighted mean and variance of log1p(amount).
    public var meanLogAmount: Float = 0
    public var varLogAmount: Float = 0
    /// Transactions seen (saturating).
    public var total: UInt32 = 0
    /// Decayed count of fraud labels on this card (30 d), as of `lastSeconds`.
    public var fraudLabels: Float = 0
    /// 256-bit Bloom filter of merchants seen (two probes per merchant).
    public var merchants = InlineArray<8, UInt32>(repeating: 0)
    /// The last four distinct countries, as 16-bit tags (0 = none), most recent first.
    public var countries: (UInt16, UInt16, UInt16, UInt16) = (0, 0, 0, 0)
    /// Channels seen, one bit per channel hash modulo 8.
    public var channels: UInt8 = 0

    public static let empty = CardState()

    public init() {}

    public static func == (a: CardState, b: CardState) -> Bool {
        var wa = SnapshotWriter(), wb = SnapshotWriter()
        a.write(to: &wa)
        b.write(to: &wb)
        return wa.bytes == wb.bytes
    }

    // MARK: Membership sketches

    @inline(__always) static func bloomBits(_ merchant: UInt64) -> (Int, Int) {
        (Int(truncatingIfNeeded: merchant & 0xFF), Int(truncatingIfNeeded: (merchant >> 8) & 0xFF))
    }

    @inline(__always) private func bit(_ index: Int) -> Bool {
        merchants[index >> 5] & (1 << UInt32(index & 31)) != 0
    }

    @inline(__always) private mutating func setBit(_ index: Int) {
        merchants[index >> 5] |= 1 << UInt32(index & 31)
    }

    /// Whether the merchant was probably seen before (false positives ≈ 5% after 30 merchants).
    @inline(__always) public func knowsMerchant(_ merchant: UInt64) -> Bool {
        let (a, b) = Self.bloomBits(merchant)
        return bit(a) && bit(b)
    }

    @inline(__always) mutating func rememberMerchant(_ merchant: UInt64) {
        let (a, b) = Self.bloomBits(merchant)
        setBit(a)
        setBit(b)
    }

    @inline(__always) static func countryTag(_ country: UInt64) -> UInt16 {
        let tag = UInt16(truncatingIfNeeded: country >> 48)
        return tag == 0 ? 1 : tag
    }

    @inline(__always) public func knowsCountry(_ tag: UInt16) -> Bool {
        countries.0 == tag || countries.1 == tag || countries.2 == tag || countries.3 == tag
    }

    @inline(__always) mutating func rememberCountry(_ tag: UInt16) {
        guard !knowsCountry(tag) else { return }
        countries = (tag, countries.0, countries.1, countries.2)
    }

    // MARK: Snapshot

    public func write(to writer: inout SnapshotWriter) {
        writer.write(lastSeconds)
        for value in [count1h, count24h, count7d, sum1h, sum24h, sum7d, meanLogAmount, varLogAmount] { writer.write(value) }
        writer.write(total)
        writer.write(fraudLabels)
        for i in merchants.indices { writer.write(merchants[i]) }
        for tag in [countries.0, countries.1, countries.2, countries.3] { writer.write(tag) }
        writer.write(channels)
    }

    public init(from reader: inout SnapshotReader) throws(FeaturesError) {
        lastSeconds = try reader.read()
        count1h = try reader.readFloat()
        count24h = try reader.readFloat()
        count7d = try reader.readFloat()
        sum1h = try reader.readFloat()
        sum24h = try reader.readFloat()
        sum7d = try reader.readFloat()
        meanLogAmount = try reader.readFloat()
        varLogAmount = try reader.readFloat()
        total = try reader.read()
        fraudLabels = try reader.readFloat()
        for i in merchants.indices { merchants[i] = try reader.read() }
        countries = (try reader.read(), try reader.read(), try reader.read(), try reader.read())
        channels = try reader.read()
    }
}
