// `vigil audit verify`: recomputes every link of the chosen partitions from the stored rows
// and links, in offset order, inside one REPEATABLE READ snapshot per partition, and names
// the first place where rows, links and signatures disagree. Reads only through the audit
// views (AuditTrailReader), so the analyst role can run it.
import Crypto
import Foundation
import Synchronization
import VigilPostgres

/// What to verify and with which keys.
public struct VerifyRequest: Sendable {
    public var topic: String?
    public var partition: Int32?
    /// Verify the links overlapping [fromOffset, toOffset) (whole links) and the rows among them.
    public var fromOffset: Int64?
    public var toOffset: Int64?
    /// Keys to check signatures with; none: signatures are counted but not checked.
    public var keys: [LinkVerificationKey] = []
    /// Rows fetched per round trip and table, roughly (whole links are fetched).
    public var chunkRows = 100_000

    public init(topic: String? = nil, partition: Int32? = nil, fromOffset: Int64? = nil, toOffset: Int64? = nil,
                keys: [LinkVerificationKey] = []) {
        self.topic = topic
        self.partition = partition
        self.fromOffset = fromOffset
        self.toOffset = toOffset
        self.keys = keys
    }
}

/// Verification progress, for a terminal: rows verified of the total the links declare.
public struct VerifyProgress: Sendable {
    public var topic: String
    public var partition: Int32
    public var rowsDone: Int64
    public var rowsTotal: Int64
}

public struct AuditVerifier {
    let session: PostgresSession
    let reader: AuditTrailReader

    public init(session: PostgresSession, schema: String) {
        self.session = session
        reader = AuditTrailReader(session: session, schema: schema)
    }

    /// Verifies the requested partitions one after another on this session.
    public func verify(_ request: VerifyRequest, progress: ((VerifyProgress) -> Void)? = nil) throws -> VerifyReport {
        let started = ContinuousClock.now
        var report = VerifyReport()
        let (partitions, total) = try plan(request)
        var rowsDoneBefore: Int64 = 0
        for (topic, partition) in partitions {
            let p = try verify(topic: topic, partition: partition, request) { done in
                progress?(VerifyProgress(topic: topic, partition: partition, rowsDone: rowsDoneBefore + done, rowsTotal: total))
            }
            rowsDoneBefore += p.rowsCovered
            report.partitions.append(p)
        }
        report.seconds = (ContinuousClock.now - started) / .seconds(1)
        return report
    }

    /// Verifies the requested partitions on several connections at once, a partition per
    /// connection at a time (each partition in its own snapshot, as on one connection).
    public static func verify(using connections: [PostgresConnection], schema: String, _ request: VerifyRequest,
                              progress: (@Sendable (VerifyProgress) -> Void)? = nil) async throws -> VerifyReport {
        guard let first = connections.first else { throw AuditError(.invalidRequest, "no connection to verify with") }
        let started = ContinuousClock.now
        let (partitions, total) = try await first.withSession { try AuditVerifier(session: $0, schema: schema).plan(request) }
        final class Shared: Sendable {
            let queue: Mutex<ArraySlice<(topic: String, partition: Int32)>>
            let done = Atomic<Int64>(0)
            init(_ partitions: [(topic: String, partition: Int32)]) { queue = Mutex(partitions[...]) }
        }
        let shared = Shared(partitions)
        let reports = try await withThrowingTaskGroup(of: [PartitionReport].self) { group in
            for connection in connections {
                group.addTask {
                    try await connection.withSession { session in
                        let verifier = AuditVerifier(session: session, schema: schema)
                        var mine: [PartitionReport] = []
                        while let (topic, partition) = shared.queue.withLock({ $0.popFirst() }) {
                            var reported: Int64 = 0
                            mine.append(try verifier.verify(topic: topic, partition: partition, request) { rows in
                                let all = shared.done.add(rows - reported, ordering: .relaxed).newValue
                                reported = rows
                                progress?(VerifyProgress(topic: topic, partition: partition, rowsDone: all, rowsTotal: total))
                            })
                        }
                        return mine
                    }
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        var report = VerifyReport()
        report.partitions = reports.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
        report.seconds = (ContinuousClock.now - started) / .seconds(1)
        return report
    }

    /// The partitions a request covers and the rows their links declare (for progress).
    func plan(_ request: VerifyRequest) throws -> ([(topic: String, partition: Int32)], Int64) {
        if let from = request.fromOffset, let to = request.toOffset, from >= to {
            throw AuditError(.invalidRequest, "--from-offset \(from) must be below --to-offset \(to)")
        }
        return try session.transaction(isolation: .repeatableRead) { _ in
            let partitions = try reader.partitions(topic: request.topic, partition: request.partition)
            var total: Int64 = 0
            for (topic, partition) in partitions {
                total += try reader.totals(topic: topic, partition: partition, from: request.fromOffset ?? 0, to: request.toOffset ?? Int64.max).rows
            }
            return (partitions, total)
        }
    }

    /// One partition in one REPEATABLE READ snapshot; `progress` gets the rows verified so far.
    public func verify(topic: String, partition: Int32, _ request: VerifyRequest, progress: (Int64) -> Void = { _ in }) throws -> PartitionReport {
        try session.transaction(isolation: .repeatableRead) { _ in
            try verifyPartition(topic: topic, partition: partition, request, progress: progress)
        }
    }

    /// One partition's rows of one table in a range: offsets ascending, 32-byte digests flat.
    struct TableRows {
        var offsets: [Int64] = []
        var digests: [UInt8] = []

        /// Index range of rows with offsets in [from, to).
        func range(_ from: Int64, _ to: Int64) -> Range<Int> { lowerBound(from)..<lowerBound(to) }

        private func lowerBound(_ offset: Int64) -> Int {
            var lo = 0, hi = offsets.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if offsets[mid] < offset { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }

        func tag(_ i: Int) -> UInt32 {
            UInt32(digests[i * 32]) << 24 | UInt32(digests[i * 32 + 1]) << 16 | UInt32(digests[i * 32 + 2]) << 8 | UInt32(digests[i * 32 + 3])
        }
    }

    func verifyPartition(topic: String, partition: Int32, _ request: VerifyRequest,
                         progress: (Int64) -> Void) throws -> PartitionReport {
        var r = PartitionReport(topic: topic, partition: partition)
        let windowed = request.fromOffset != nil
        let from = request.fromOffset ?? 0, to = request.toOffset ?? Int64.max
        func brk(_ kind: ChainBreak.Kind, _ offset: Int64, _ table: AuditTable? = nil, _ link: StoredLink? = nil, _ detail: String = "") {
            r.record(ChainBreak(kind: kind, topic: topic, partition: partition, offset: offset, table: table,
                                link: link.map { $0.from..<$0.to }, detail: detail))
        }
        var previous: StoredLink?
        var cursor: Int64 = from
        var after = Int64.min
        var first = true
        var done: Int64 = 0
        var keysMissingNoted = false
        while true {
            let fetched = try reader.links(topic: topic, partition: partition, startingAt: after, from: from, to: to, limit: 512)
            if fetched.isEmpty { break }
            var chunk: [StoredLink] = []
            var budget = 0
            for link in fetched {
                chunk.append(link)
                budget += link.link.counts.reduce(0) { $0 + Int($1) }
                if budget >= request.chunkRows { break }
            }
            after = chunk.last!.from + 1
            if first {
                first = false
                let head = chunk[0]
                if windowed {
                    previous = try reader.link(before: head.from, topic: topic, partition: partition)
                    cursor = head.from
                } else {
                    cursor = head.from
                    if head.link.prevHash == ChainLink.unchainedHistory {
                        if head.from > 0 { r.notes.append("offsets below \(head.from) were committed before the chain existed; their rows are not covered") }
                    } else {
                        // A fresh chain starts with the partition's first committed batch: nothing may lie below it.
                        for table in AuditTable.allCases {
                            let below = try reader.rowsOutside(table, topic: topic, partition: partition, from: 0, to: head.from)
                            if let offset = below.first {
                                brk(.rowAdded, offset, table, nil, "\(below.count) \(table) row(s) below the first link at \(head.from), covered by no link")
                            }
                        }
                    }
                }
            }
            var rows = [TableRows](repeating: TableRows(), count: AuditTable.allCases.count)
            let end = chunk.map(\.to).max()!
            let lower = Swift.min(cursor, chunk[0].from)
            for table in AuditTable.allCases where end > lower {
                _ = try reader.rows(table, topic: topic, partition: partition, from: lower, to: end) { offset, fields in
                    rows[table.rawValue].offsets.append(offset)
                    rows[table.rawValue].digests.append(contentsOf: LinkBuilder.digest(fields))
                }
            }
            for link in chunk {
                check(link, after: previous, cursor: cursor, rows: rows, request: request, report: &r, keysMissingNoted: &keysMissingNoted)
                cursor = Swift.max(cursor, link.to)
                previous = link
                done += Int64(link.link.counts.reduce(0) { $0 + Int($1) })
                progress(done)
            }
        }
        if let last = previous, r.linksChecked > 0 {
            r.headHash = last.link.linkHash
            // Offsets committed past the last link: its successors are gone (their rows with them).
            var uncovered = cursor
            if request.toOffset == nil, let next = try reader.committedNext(topic: topic, partition: partition), next > last.to {
                brk(.linksMissingAtEnd, last.to, nil, nil, "offsets \(last.to)..<\(next) were committed but no link covers them")
                uncovered = Swift.max(cursor, next)
            }
            // Rows above that are covered by nothing.
            if uncovered < to {
                for table in AuditTable.allCases {
                    let above = try reader.rowsOutside(table, topic: topic, partition: partition, from: uncovered, to: to)
                    if let offset = above.first {
                        brk(.rowAdded, offset, table, nil, "\(above.count) \(table) row(s) at or above \(uncovered), after the last link")
                    }
                }
            }
        } else if !windowed, request.toOffset == nil {
            // No link at all. Every decision since migration 0009 is written with one, so stored
            // decisions mean the links were removed; other rows may predate the chain.
            for table in AuditTable.allCases {
                let stored = try reader.rowsOutside(table, topic: topic, partition: partition, from: 0, to: Int64.max)
                guard let offset = stored.first else { continue }
                if table == .decisions {
                    brk(.linkRemoved, offset, nil, nil, "\(stored.count) decision row(s) but no link: the partition's links are gone")
                } else {
                    r.notes.append("\(stored.count) \(table) row(s) and no link: written before the chain existed, or their links are gone")
                }
            }
            if r.breaks == 0, let next = try reader.committedNext(topic: topic, partition: partition), next > 0 {
                r.notes.append("offsets below \(next) were committed before the chain existed; nothing since")
            }
        }
        return r
    }

    private func check(_ link: StoredLink, after previous: StoredLink?, cursor: Int64, rows: [TableRows], request: VerifyRequest,
                       report r: inout PartitionReport, keysMissingNoted: inout Bool) {
        let l = link.link
        func brk(_ kind: ChainBreak.Kind, _ offset: Int64, _ table: AuditTable?, _ link: StoredLink?, _ detail: String) {
            r.record(ChainBreak(kind: kind, topic: r.topic, partition: r.partition, offset: offset, table: table,
                                link: link.map { $0.from..<$0.to }, detail: detail))
        }
        r.linksChecked += 1
        for table in AuditTable.allCases { r.rows[table.rawValue] += Int64(l.counts[table.rawValue]) }
        r.covered = (r.covered?.lowerBound ?? link.from)..<link.to
        // The link itself.
        if link.recomputedHash != l.linkHash {
            brk(.linkChanged, link.from, nil, link, "its stored fields no longer give its stored hash")
        }
        var gapExplained = false
        if let previous {
            if l.prevHash != previous.link.linkHash {
                gapExplained = link.from > previous.to
                brk(.linkRemoved, previous.to, nil, link,
                    link.from > previous.to ? "no link covers offsets \(previous.to)..<\(link.from); the next link's previous hash does not match the link before it"
                        : "its previous hash does not match the link before it (\(previous.from)..<\(previous.to))")
            } else if link.from != previous.to {
                brk(.linkChanged, link.from, nil, link, "starts at \(link.from) but the link before it ends at \(previous.to)")
            }
        } else if request.fromOffset == nil, l.prevHash != ChainLink.genesis, l.prevHash != ChainLink.unchainedHistory {
            gapExplained = true
            brk(.linkRemoved, link.from, nil, link, "it is the first link stored but its previous hash names another link")
        }
        // Its signature.
        if let signature = l.signature {
            r.signedLinks += 1
            if request.keys.isEmpty {
                if !keysMissingNoted { r.notes.append("links are signed; signatures were not checked (no --key-file)"); keysMissingNoted = true }
            } else if let key = request.keys.first(where: { $0.keyID == l.keyID }) ?? (request.keys.count == 1 ? request.keys[0] : nil) {
                r.signaturesChecked += 1
                if !key.isValid(signature, for: l.linkHash) {
                    brk(.signatureWrong, link.from, nil, link, "the signature does not verify with key \(key.keyID)\(l.keyID.map { " (link names \($0))" } ?? "")")
                }
            } else {
                brk(.signatureWrong, link.from, nil, link, "signed with key \(l.keyID ?? "?"), which was not given")
            }
        } else if !request.keys.isEmpty {
            brk(.signatureMissing, link.from, nil, link, "a key was given but the link is not signed")
        }
        // Rows between the previous link and this one.
        if link.from > cursor, !gapExplained {
            for table in AuditTable.allCases {
                let range = rows[table.rawValue].range(cursor, link.from)
                if !range.isEmpty {
                    brk(.rowAdded, rows[table.rawValue].offsets[range.lowerBound], table, nil,
                        "\(range.count) \(table) row(s) in offsets \(cursor)..<\(link.from), covered by no link")
                }
            }
        }
        // Its rows.
        var hasher = SHA256()
        var countsMatch = true
        for table in AuditTable.allCases {
            let t = rows[table.rawValue]
            let range = t.range(link.from, link.to)
            if range.count != Int(l.counts[table.rawValue]) { countsMatch = false }
            if !range.isEmpty { hasher.update(data: t.digests[(range.lowerBound * 32)..<(range.upperBound * 32)]) }
        }
        if countsMatch && Array(hasher.finalize()) == l.rowsSHA256 { return }
        // Where: compare the row map, offset by offset and table by table.
        let count = Int(link.to - link.from)
        guard count >= 0, let expected = try? RowMap(decoding: l.rowMap, count: count) else {
            brk(.rowsDiffer, link.from, nil, link, "the stored rows do not give the link's hash and its row map cannot be read")
            return
        }
        var actual = [RowMap.Entry](repeating: RowMap.Entry(), count: count)
        var duplicate: (Int64, AuditTable)?
        for table in AuditTable.allCases {
            let t = rows[table.rawValue]
            for i in t.range(link.from, link.to) {
                let at = Int(t.offsets[i] - link.from)
                if !actual[at].add(table, tag: t.tag(i)), duplicate == nil || t.offsets[i] < duplicate!.0 { duplicate = (t.offsets[i], table) }
            }
        }
        for i in 0..<count {
            let offset = link.from + Int64(i)
            if let d = duplicate, d.0 == offset {
                brk(.rowAdded, offset, d.1, link, "a second \(d.1) row for one offset")
                return
            }
            for table in AuditTable.allCases {
                switch (expected.entries[i].tag(table), actual[i].tag(table)) {
                case (nil, nil): continue
                case (.some, nil): brk(.rowMissing, offset, table, link, ""); return
                case (nil, .some): brk(.rowAdded, offset, table, link, ""); return
                case let (e?, a?) where e != a: brk(.rowChanged, offset, table, link, ""); return
                default: continue
                }
            }
        }
        brk(.rowsDiffer, link.from, nil, link, "the stored rows do not give the link's hash; the row map cannot tell where")
    }
}
