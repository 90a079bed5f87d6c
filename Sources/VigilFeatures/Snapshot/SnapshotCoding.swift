// Little-endian binary writer and reader for state snapshots: fixed-width fields, no padding,
// the same bytes on every platform.

/// Appends fixed-width little-endian values to a byte buffer.
public struct SnapshotWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func write<T: FixedWidthInteger>(_ value: T) {
        for byte in 0..<(T.bitWidth / 8) { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * byte))) }
    }

    public mutating func write(_ value: Float) { write(value.bitPattern) }
    public mutating func write(_ value: Double) { write(value.bitPattern) }
    public mutating func write(bytes raw: [UInt8]) { bytes.append(contentsOf: raw) }
}

/// Reads what `SnapshotWriter` wrote; every read is bounds-checked and throws on truncation.
public struct SnapshotReader {
    let bytes: [UInt8]
    public private(set) var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var remaining: Int { bytes.count - offset }

    public mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) throws(FeaturesError) -> T {
        let size = MemoryLayout<T>.size
        guard offset + size <= bytes.count else {
            throw FeaturesError(.invalidSnapshot, "truncated at byte \(offset): expected \(size) more bytes")
        }
        var value: T = 0
        for i in 0..<size { value |= T(truncatingIfNeeded: bytes[offset + i]) << (8 * i) }
        offset += size
        return value
    }

    public mutating func readFloat() throws(FeaturesError) -> Float { Float(bitPattern: try read(UInt32.self)) }
    public mutating func readDouble() throws(FeaturesError) -> Double { Double(bitPattern: try read(UInt64.self)) }

    public mutating func readBytes(_ count: Int) throws(FeaturesError) -> [UInt8] {
        guard count >= 0, offset + count <= bytes.count else {
            throw FeaturesError(.invalidSnapshot, "truncated at byte \(offset): expected \(count) more bytes")
        }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }
}
