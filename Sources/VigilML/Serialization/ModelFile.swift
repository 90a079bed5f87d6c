// The versioned binary model file: header, SHA-256, payload.
import Foundation

/// What a model file holds.
public enum ModelKind: UInt8, Sendable, CustomStringConvertible {
    case contrastiveAutoencoder = 1
    case sparseClassifier = 2
    public var description: String { self == .contrastiveAutoencoder ? "contrastive-autoencoder" : "sparse-classifier" }
}

/// The self-describing part of a model file, readable without decoding the weights.
public struct ModelHeader: Sendable, Equatable {
    public var formatVersion: UInt16
    public var kind: ModelKind
    /// Hash of the feature specification the model was trained on; the engine refuses a
    /// model whose hash differs from its own feature spec.
    public var featureSpecHash: UInt64
    /// Milliseconds since 1970-01-01 UTC.
    public var createdAtMilliseconds: Int64
    /// Layer widths from input to output.
    public var widths: [Int]
    /// SHA-256 over the header fields above and the payload.
    public var checksum: [UInt8]
}

/// Encodes and decodes model files.
///
/// Layout (little-endian): "VGLM" | format u16 | kind u8 | 0 u8 | feature-spec hash u64 |
/// created-at ms i64 | width count u16 | widths u32… | payload length u64 | SHA-256 (32) |
/// payload. The digest covers every byte except itself, so any altered or truncated byte
/// is caught before a weight is decoded. The payload holds the full training state
/// (weights, masks, optimiser moments, random stream), so a loaded model scores bit-for-bit
/// like the saved one and resumes training where it stopped.
public enum ModelFile {
    public static let magic: [UInt8] = Array("VGLM".utf8)
    public static let formatVersion: UInt16 = 1

    public static func encode(_ model: ContrastiveAutoencoder, featureSpecHash: UInt64, createdAt: Date = Date()) -> [UInt8] {
        var payload = BinaryWriter()
        model.encodePayload(into: &payload)
        return frame(kind: .contrastiveAutoencoder, widths: model.configuration.widths, featureSpecHash: featureSpecHash,
                     createdAt: createdAt, payload: payload.bytes)
    }

    public static func encode(_ model: SparseClassifier, featureSpecHash: UInt64, createdAt: Date = Date()) -> [UInt8] {
        var payload = BinaryWriter()
        model.encodePayload(into: &payload)
        return frame(kind: .sparseClassifier, widths: model.configuration.widths, featureSpecHash: featureSpecHash,
                     createdAt: createdAt, payload: payload.bytes)
    }

    /// Decodes an autoencoder file. With `featureSpecHash`, a model trained on another
    /// feature specification is refused (`.featureSpecMismatch`).
    public static func decodeAutoencoder(_ bytes: [UInt8], featureSpecHash: UInt64? = nil) throws -> (model: ContrastiveAutoencoder, header: ModelHeader) {
        let (header, start) = try verify(bytes, expecting: .contrastiveAutoencoder)
        try checkSpec(header, featureSpecHash)
        var reader = BinaryReader(bytes, offset: start)
        let model = try ContrastiveAutoencoder(decoding: &reader)
        try finish(reader, widths: model.configuration.widths, header: header)
        return (model, header)
    }

    /// Decodes a classifier file; `featureSpecHash` as for `decodeAutoencoder`.
    public static func decodeClassifier(_ bytes: [UInt8], featureSpecHash: UInt64? = nil) throws -> (model: SparseClassifier, header: ModelHeader) {
        let (header, start) = try verify(bytes, expecting: .sparseClassifier)
        try checkSpec(header, featureSpecHash)
        var reader = BinaryReader(bytes, offset: start)
        let model = try SparseClassifier(decoding: &reader)
        try finish(reader, widths: model.configuration.widths, header: header)
        return (model, header)
    }

    /// Reads and verifies the header and checksum without decoding the payload.
    public static func header(of bytes: [UInt8]) throws -> ModelHeader {
        try verify(bytes, expecting: nil).header
    }

    static func frame(kind: ModelKind, widths: [Int], featureSpecHash: UInt64, createdAt: Date, payload: [UInt8]) -> [UInt8] {
        var w = BinaryWriter()
        w.bytes.append(contentsOf: magic)
        w.u16(formatVersion)
        w.u8(kind.rawValue)
        w.u8(0)
        w.u64(featureSpecHash)
        w.u64(UInt64(bitPattern: Int64((createdAt.timeIntervalSince1970 * 1000).rounded())))
        w.u16(UInt16(widths.count))
        for width in widths { w.u32(UInt32(width)) }
        w.u64(UInt64(payload.count))
        let digestOffset = w.bytes.count
        w.bytes.append(contentsOf: repeatElement(0, count: 32))
        w.bytes.append(contentsOf: payload)
        let digest = SHA256.hash(w.bytes[..<digestOffset] + w.bytes[(digestOffset + 32)...])
        w.bytes.replaceSubrange(digestOffset..<(digestOffset + 32), with: digest)
        return w.bytes
    }

    static func verify(_ bytes: [UInt8], expecting kind: ModelKind?) throws -> (header: ModelHeader, payloadStart: Int) {
        var r = BinaryReader(bytes)
        guard bytes.count >= 4 else { throw MLError(.truncatedFile, "model file is \(bytes.count) bytes, too short for a header") }
        guard Array(try r.take(4)) == magic else { throw MLError(.unsupportedFormat, "not a Vigil model file (bad magic)") }
        let version = try r.u16()
        guard version == formatVersion else {
            throw MLError(.unsupportedFormat, "model format version \(version); this build reads \(formatVersion)")
        }
        let rawKind = try r.u8()
        guard let fileKind = ModelKind(rawValue: rawKind) else { throw MLError(.unsupportedFormat, "unknown model kind \(rawKind)") }
        if let kind, kind != fileKind { throw MLError(.unsupportedFormat, "file holds a \(fileKind), expected a \(kind)") }
        _ = try r.u8()
        let specHash = try r.u64()
        let created = Int64(bitPattern: try r.u64())
        let widthCount = Int(try r.u16())
        let widths = try (0..<widthCount).map { _ in Int(try r.u32()) }
        let payloadLength = try r.u64()
        let digestOffset = r.offset
        let digest = Array(try r.take(32))
        guard UInt64(r.remaining) >= payloadLength else {
            throw MLError(.truncatedFile, "payload is \(r.remaining) bytes, header says \(payloadLength)")
        }
        guard UInt64(r.remaining) == payloadLength else {
            throw MLError(.corruptPayload, "\(UInt64(r.remaining) - payloadLength) unexpected bytes after the payload")
        }
        let actual = SHA256.hash(bytes[..<digestOffset] + bytes[(digestOffset + 32)...])
        guard actual == digest else {
            throw MLError(.checksumMismatch, "SHA-256 \(SHA256.hex(actual)) does not match the recorded \(SHA256.hex(digest))")
        }
        let header = ModelHeader(formatVersion: version, kind: fileKind, featureSpecHash: specHash,
                                 createdAtMilliseconds: created, widths: widths, checksum: digest)
        return (header, r.offset)
    }

    private static func checkSpec(_ header: ModelHeader, _ expected: UInt64?) throws {
        if let expected, expected != header.featureSpecHash {
            throw MLError(.featureSpecMismatch, "model was trained on feature spec \(String(header.featureSpecHash, radix: 16)), this build uses \(String(expected, radix: 16))")
        }
    }

    private static func finish(_ reader: BinaryReader, widths: [Int], header: ModelHeader) throws {
        guard reader.remaining == 0 else { throw MLError(.corruptPayload, "\(reader.remaining) bytes left after decoding") }
        guard widths == header.widths else { throw MLError(.corruptPayload, "payload widths \(widths) differ from header \(header.widths)") }
    }
}
