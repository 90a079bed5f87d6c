// One link of a partition's chain: a committed batch's offset range, how many rows of each
// table it wrote, the SHA-256 over those rows, the row map, the previous link's hash, and its
// own hash over all of that (optionally signed). One `audit_chain` row.
import Crypto
import Foundation
import VigilPostgres

public struct ChainLink: Sendable, Equatable {
    /// The encoding version of rows and links; bumped when a canonical column list changes.
    public static let currentFormat: Int16 = 1
    /// `prev_hash` of a partition's first link when nothing of it was committed before.
    public static let genesis = [UInt8](repeating: 0, count: 32)
    /// `prev_hash` of a partition's first link when offsets were committed before the chain
    /// existed (an upgraded database): the rows below it are not covered.
    public static let unchainedHistory = Array(SHA256.hash(data: Array("vigil audit chain: rows below this link were written before the chain existed".utf8)))

    /// `audit_chain`'s columns in canonical order: the first `hashedColumnCount` are hashed
    /// into `link_hash`; the signature signs `link_hash`.
    public static let columns = ["format", "topic", "kafka_partition", "from_offset", "to_offset", "committed_at",
                                 "decisions", "alerts", "dead_letters", "labels", "rows_sha256", "row_map", "prev_hash",
                                 "link_hash", "signature", "key_id"]
    public static let hashedColumnCount = 13

    public var format: Int16 = ChainLink.currentFormat
    public var topic: String
    public var partition: Int32
    /// First offset covered.
    public var fromOffset: Int64
    /// First offset not covered: the stored next offset after the batch committed.
    public var toOffset: Int64
    /// The batch's `decided_at`.
    public var committedAt: Date
    /// Rows per table, in `AuditTable` order.
    public var counts: [Int32]
    /// SHA-256 over the rows' digests, table by table, each table in offset order.
    public var rowsSHA256: [UInt8]
    public var rowMap: [UInt8]
    public var prevHash: [UInt8]
    /// SHA-256 over the hashed fields (`hashedFields()`).
    public var linkHash: [UInt8]
    public var signature: [UInt8]?
    public var keyID: String?

    public init(format: Int16 = ChainLink.currentFormat, topic: String, partition: Int32, fromOffset: Int64, toOffset: Int64,
                committedAt: Date, counts: [Int32], rowsSHA256: [UInt8], rowMap: [UInt8], prevHash: [UInt8],
                linkHash: [UInt8] = [], signature: [UInt8]? = nil, keyID: String? = nil) {
        self.format = format
        self.topic = topic
        self.partition = partition
        self.fromOffset = fromOffset
        self.toOffset = toOffset
        self.committedAt = committedAt
        self.counts = counts
        self.rowsSHA256 = rowsSHA256
        self.rowMap = rowMap
        self.prevHash = prevHash
        self.linkHash = linkHash
        self.signature = signature
        self.keyID = keyID
    }

    /// The first `hashedColumnCount` columns as binary COPY fields: what `linkHash` hashes.
    public func hashedFields() throws -> PostgresBinaryFields {
        var f = PostgresBinaryFields(capacity: 160 + rowMap.count)
        f.append(format)
        try f.append(topic)
        f.append(partition)
        f.append(fromOffset)
        f.append(toOffset)
        try f.append(committedAt)
        for table in AuditTable.allCases { f.append(counts[table.rawValue]) }
        f.append(bytea: rowsSHA256)
        f.append(bytea: rowMap)
        f.append(bytea: prevHash)
        return f
    }

    /// SHA-256 of `hashedFields()`.
    public func computedHash() throws -> [UInt8] {
        Array(SHA256.hash(data: try hashedFields().bytes))
    }

    /// Sets `linkHash` (and the signature, when a signer is given).
    public mutating func seal(signer: LinkSigner?) throws {
        linkHash = try computedHash()
        if let signer {
            signature = try signer.sign(linkHash)
            keyID = signer.keyID
        } else {
            signature = nil
            keyID = nil
        }
    }

    /// All columns in `columns` order, for COPY or INSERT.
    public func values() -> [PostgresValue] {
        var v: [PostgresValue] = [.int16(format), .text(topic), .int32(partition), .int64(fromOffset), .int64(toOffset), .timestamptz(committedAt)]
        v += counts.map { PostgresValue.int32($0) }
        v += [.bytea(rowsSHA256), .bytea(rowMap), .bytea(prevHash), .bytea(linkHash)]
        v.append(signature.map(PostgresValue.bytea) ?? .null)
        v.append(keyID.map(PostgresValue.text) ?? .null)
        return v
    }
}

/// Hex text of bytes (lower case), for reports and key ids.
public func hexString<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xF)]) }
    return String(decoding: out, as: UTF8.self)
}
