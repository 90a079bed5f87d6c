// Little-endian primitives for model files and model sets (VigilEngine's stored form).

/// Appends little-endian values to a byte array.
public struct BinaryWriter {
    public var bytes: [UInt8]

    public init(bytes: [UInt8] = []) { self.bytes = bytes }

    public mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    public mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }
    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
    public mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func int(_ v: Int) { u64(UInt64(bitPattern: Int64(v))) }
    public mutating func f32(_ v: Float) { u32(v.bitPattern) }
    mutating func f64(_ v: Double) { u64(v.bitPattern) }
    mutating func floats(_ v: [Float]) {
        int(v.count)
        #if _endian(little)
        // The in-memory bytes already are the file's: one bulk copy (a model holds megabytes of floats).
        v.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        for x in v { f32(x) }
        #endif
    }
    mutating func optionalFloats(_ v: [Float]?) {
        bool(v != nil)
        if let v { floats(v) }
    }
    mutating func ints(_ v: [Int]) {
        int(v.count)
        for x in v { int(x) }
    }
}

/// Reads little-endian values; every read is bounds-checked and throws on a short payload.
public struct BinaryReader {
    let bytes: [UInt8]
    public private(set) var offset = 0

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var remaining: Int { bytes.count - offset }

    public mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, remaining >= n else {
            throw MLError(.truncatedFile, "needed \(n) bytes at offset \(offset), \(remaining) left")
        }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }

    private mutating func unsigned(_ width: Int) throws -> UInt64 {
        var v: UInt64 = 0
        for (i, b) in try take(width).enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
        return v
    }

    public mutating func u8() throws -> UInt8 { UInt8(try unsigned(1)) }
    public mutating func bool() throws -> Bool {
        switch try u8() {
        case 0: return false
        case 1: return true
        case let v: throw MLError(.corruptPayload, "flag byte \(v) at offset \(offset - 1)")
        }
    }
    public mutating func u16() throws -> UInt16 { UInt16(try unsigned(2)) }
    public mutating func u32() throws -> UInt32 { UInt32(try unsigned(4)) }
    public mutating func u64() throws -> UInt64 { try unsigned(8) }
    public mutating func i64() throws -> Int64 { Int64(bitPattern: try u64()) }
    public mutating func i32() throws -> Int32 { Int32(bitPattern: try u32()) }
    mutating func int() throws -> Int { Int(Int64(bitPattern: try u64())) }
    public mutating func f32() throws -> Float { Float(bitPattern: try u32()) }
    mutating func f64() throws -> Double { Double(bitPattern: try u64()) }

    /// A count that must fit in what is left (each element at least `elementSize` bytes).
    mutating func count(elementSize: Int) throws -> Int {
        let n = try int()
        guard n >= 0, n <= remaining / max(elementSize, 1) else {
            throw MLError(.corruptPayload, "array length \(n) at offset \(offset - 8) exceeds the payload")
        }
        return n
    }
    mutating func floats() throws -> [Float] {
        let n = try count(elementSize: 4)
        return try (0..<n).map { _ in try f32() }
    }
    mutating func floats(expected: Int, _ what: String) throws -> [Float] {
        let v = try floats()
        guard v.count == expected else {
            throw MLError(.corruptPayload, "\(what) has \(v.count) values, expected \(expected)")
        }
        return v
    }
    mutating func optionalFloats() throws -> [Float]? {
        try bool() ? try floats() : nil
    }
    mutating func ints() throws -> [Int] {
        let n = try count(elementSize: 8)
        return try (0..<n).map { _ in try int() }
    }
}
