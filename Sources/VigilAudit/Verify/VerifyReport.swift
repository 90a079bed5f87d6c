// What `vigil audit verify` found: per partition, what was checked and the first place where
// the stored trail and its chain disagree.

/// One disagreement between the stored rows, the links and their signatures.
public struct ChainBreak: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// A stored row differs from the row the link hashed.
        case rowChanged = "row changed"
        /// The link hashed a row that is not stored any more.
        case rowMissing = "row missing"
        /// A stored row that no link hashed (inside a link's range or outside every link).
        case rowAdded = "row added"
        /// A link is gone: the next link's previous hash or offsets do not meet the link before it.
        case linkRemoved = "link removed"
        /// A link's stored fields no longer give its stored hash.
        case linkChanged = "link changed"
        /// A link's signature does not verify with the key given (or names an unknown key).
        case signatureWrong = "signature wrong"
        /// A key was given but the link carries no signature.
        case signatureMissing = "signature missing"
        /// Offsets were committed past the last link: links at the end are gone.
        case linksMissingAtEnd = "links missing at the end"
        /// The rows of a link differ from its hash, but its row map cannot say where.
        case rowsDiffer = "rows differ"
    }

    public var kind: Kind
    public var topic: String
    public var partition: Int32
    /// The offset of the row, or the first offset of the link, that breaks the chain.
    public var offset: Int64
    /// The table of the row, for row breaks.
    public var table: AuditTable?
    /// The range of the link concerned, when there is one.
    public var link: Range<Int64>?
    public var detail: String

    public var description: String {
        var text = "\(topic)/\(partition) offset \(offset): \(table.map { "\($0) " } ?? "")\(kind.rawValue)"
        if let link { text += " (link \(link.lowerBound)..<\(link.upperBound))" }
        if !detail.isEmpty { text += ": \(detail)" }
        return text
    }
}

/// The verification of one (topic, partition).
public struct PartitionReport: Sendable {
    public var topic: String
    public var partition: Int32
    public var linksChecked = 0
    /// Rows covered by the links checked, per table (`AuditTable` order).
    public var rows = [Int64](repeating: 0, count: AuditTable.allCases.count)
    public var signedLinks = 0
    /// Signatures verified against a key given.
    public var signaturesChecked = 0
    /// The first break in offset order, and how many links (or places outside links) broke.
    public var firstBreak: ChainBreak?
    public var breaks = 0
    /// Offsets [from, to) the links checked cover.
    public var covered: Range<Int64>?
    /// The newest link's hash: record it elsewhere to detect a later truncation of the chain.
    public var headHash: [UInt8]?
    /// Notes that are not breaks (rows that predate the chain, unchecked signatures).
    public var notes: [String] = []

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var isIntact: Bool { breaks == 0 }
    public var rowsCovered: Int64 { rows.reduce(0, +) }

    mutating func record(_ b: ChainBreak) {
        breaks += 1
        if firstBreak == nil || b.offset < firstBreak!.offset { firstBreak = b }
    }
}

public struct VerifyReport: Sendable {
    public var partitions: [PartitionReport] = []
    public var seconds: Double = 0

    public init() {}
    public var isIntact: Bool { partitions.allSatisfy(\.isIntact) }
    public var rowsCovered: Int64 { partitions.reduce(0) { $0 + $1.rowsCovered } }
    public var linksChecked: Int { partitions.reduce(0) { $0 + $1.linksChecked } }
}
