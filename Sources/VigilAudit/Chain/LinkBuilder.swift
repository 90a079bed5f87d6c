// Collects one partition's rows of one batch as the sink writes them and turns them into the
// batch's chain link. Each row is hashed once, from the very bytes the COPY sends.
import Crypto
import Foundation

/// The rows a partition's batch wrote, digested as they are written.
public struct LinkBuilder: Sendable {
    public let topic: String
    public let partition: Int32
    /// Per table: the rows' offsets and their 32-byte digests, flat.
    private var offsets = [[Int64]](repeating: [], count: AuditTable.allCases.count)
    private var digests = [[UInt8]](repeating: [], count: AuditTable.allCases.count)

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    /// The digest of a row: SHA-256 of its canonical columns' binary COPY fields.
    public static func digest(_ fields: ArraySlice<UInt8>) -> SHA256.Digest { SHA256.hash(data: fields) }

    /// Records one row given its canonical fields.
    public mutating func add(_ table: AuditTable, offset: Int64, fields: ArraySlice<UInt8>) {
        let digest = Self.digest(fields)
        offsets[table.rawValue].append(offset)
        digests[table.rawValue].append(contentsOf: digest)
    }

    public var rowCount: Int { offsets.reduce(0) { $0 + $1.count } }

    /// The link for [from, to) after `previous` (its hash, or `ChainLink.genesis`), not yet sealed.
    public func link(from: Int64, to: Int64, committedAt: Date, previous: [UInt8]) -> ChainLink {
        var hasher = SHA256()
        var mapRows: [(offset: Int64, table: AuditTable, tag: UInt32)] = []
        mapRows.reserveCapacity(rowCount)
        for table in AuditTable.allCases {
            let o = offsets[table.rawValue], d = digests[table.rawValue]
            // Offset order; the sink adds rows in order, so this is almost always the identity.
            let order = o.indices.sorted { (o[$0], $0) < (o[$1], $1) }
            for i in order {
                let digest = d[(i * 32)..<(i * 32 + 32)]
                hasher.update(data: digest)
                let tag = UInt32(digest[i * 32]) << 24 | UInt32(digest[i * 32 + 1]) << 16 | UInt32(digest[i * 32 + 2]) << 8 | UInt32(digest[i * 32 + 3])
                mapRows.append((o[i], table, tag))
            }
        }
        return ChainLink(topic: topic, partition: partition, fromOffset: from, toOffset: to, committedAt: committedAt,
                         counts: offsets.map { Int32($0.count) }, rowsSHA256: Array(hasher.finalize()),
                         rowMap: RowMap(from: from, to: to, rows: mapRows).encoded(), prevHash: previous)
    }

    /// The lowest offset of any row recorded (nil when none).
    public var firstOffset: Int64? { offsets.compactMap { $0.min() }.min() }
}
