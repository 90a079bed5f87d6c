// A chain link as verify reads it back: its fields, the bytes its hash was computed over,
// and the hash, signature and key id stored with it.
import Crypto
import Foundation
import VigilPostgres

public struct StoredLink: Sendable {
    public var link: ChainLink
    /// SHA-256 of the stored hashed fields: what `link.linkHash` must equal.
    public var recomputedHash: [UInt8]

    /// Reads a row selected with `ChainLink.columns`, in that order.
    init(_ row: borrowing PostgresBinaryRow) throws {
        guard row.columnCount == ChainLink.columns.count else {
            throw AuditError(.malformedLink, "a link row has \(row.columnCount) columns, expected \(ChainLink.columns.count)")
        }
        func bytes(_ c: Int) throws -> [UInt8] {
            guard let b = row.bytea(c) else { throw AuditError(.malformedLink, "link column \(ChainLink.columns[c]) is NULL") }
            return b
        }
        var counts: [Int32] = []
        for table in AuditTable.allCases { counts.append(try row.int32(6 + table.rawValue)) }
        link = ChainLink(format: try row.int16(0), topic: try row.text(1), partition: try row.int32(2), fromOffset: try row.int64(3),
                         toOffset: try row.int64(4),
                         committedAt: Date(timeIntervalSince1970: Double(try row.timestampMicroseconds(5)) / 1e6),
                         counts: counts, rowsSHA256: try bytes(10), rowMap: try bytes(11), prevHash: try bytes(12),
                         linkHash: try bytes(13), signature: row.bytea(14), keyID: row.isNull(15) ? nil : try row.text(15))
        recomputedHash = Array(SHA256.hash(data: row.fields(0..<ChainLink.hashedColumnCount)))
    }

    public var from: Int64 { link.fromOffset }
    public var to: Int64 { link.toOffset }
}
