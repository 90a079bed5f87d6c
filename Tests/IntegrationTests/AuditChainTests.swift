// The hash chain against a real served trail: intact verifies clean and covers every row;
// each kind of tampering by a superuser is named with its partition and offset; the
// analyst role verifies but cannot write the chain; windows verify whole links.
import Foundation
import Testing
@testable import VigilAudit
import VigilPostgres
import VigilService

@Suite("Audit chain")
struct AuditChainTests {
    @Test("an untouched trail verifies intact, signatures and all, and its links cover every stored row")
    func intact() async throws {
        let (trail, target) = try await AuditTrailFixture.shared.copy()
        defer { ServeTestSupport.drop(target) }
        let report = try await AuditTestSupport.verify(target.schema, keys: [trail.keyFile])
        #expect(report.isIntact, "\(report.partitions.compactMap(\.firstBreak))")
        #expect(report.partitions.count == 3)
        let s = quoteIdentifier(target.schema)
        let totals = report.partitions.reduce(into: [Int64](repeating: 0, count: 4)) { sum, p in for i in 0..<4 { sum[i] += p.rows[i] } }
        #expect(totals[AuditTable.decisions.rawValue] == Int64(trail.transactions))
        #expect(totals[AuditTable.alerts.rawValue] == (try ServeTestSupport.scalar("SELECT count(*) FROM \(s).alerts")))
        #expect(totals[AuditTable.alerts.rawValue] > 0)
        #expect(totals[AuditTable.deadLetters.rawValue] == Int64(trail.poison))
        #expect(totals[AuditTable.labels.rawValue] == Int64(trail.labels))
        let links = try ServeTestSupport.scalar("SELECT count(*) FROM \(s).audit_chain")
        #expect(Int64(report.linksChecked) == links)
        #expect(links >= 10)
        #expect(report.partitions.allSatisfy { $0.signedLinks == $0.linksChecked && $0.signaturesChecked == $0.linksChecked })
        // Each partition's links meet end to start from its first offset to its stored offset.
        for p in report.partitions {
            let stored = try ServeTestSupport.scalar("SELECT next_offset FROM \(s).consumer_offsets WHERE topic = $1 AND kafka_partition = $2",
                                                     [.text(p.topic), .int32(p.partition)])
            #expect(p.covered == 0..<stored, "\(p.topic)/\(p.partition)")
            #expect(p.headHash?.count == 32)
        }
        // Partitions verified on two connections at once give the same report.
        let configuration = try PostgresTestDatabase.configuration()
        let connections = [PostgresConnection(configuration: configuration), PostgresConnection(configuration: configuration)]
        let parallel = try await AuditVerifier.verify(using: connections, schema: target.schema,
                                                      VerifyRequest(keys: [try LinkVerificationKey(keyFile: trail.keyFile)]))
        for c in connections { await c.close() }
        #expect(parallel.isIntact)
        #expect(parallel.partitions.map { "\($0.topic)/\($0.partition)/\($0.rows)/\($0.linksChecked)" }
                == report.partitions.map { "\($0.topic)/\($0.partition)/\($0.rows)/\($0.linksChecked)" })
        // Without the key the chain is still recomputed; the signatures are only counted.
        let unkeyed = try await AuditTestSupport.verify(target.schema)
        #expect(unkeyed.isIntact)
        #expect(unkeyed.partitions.allSatisfy { $0.signaturesChecked == 0 && $0.notes.contains { $0.contains("not checked") } })
    }

    @Test("an UPDATE of one decision's risk is reported as that row changed, at its partition and offset")
    func changedRisk() async throws {
        let (trail, target) = try await AuditTrailFixture.shared.copy()
        defer { ServeTestSupport.drop(target) }
        let session = try PostgresTestDatabase.session()
        defer { session.close() }
        let victim = try AuditTestSupport.decision(session, target.schema, topic: trail.topic, where: "kafka_partition = 1", index: 500)
        let link = try AuditTestSupport.link(session, target.schema, topic: trail.topic, partition: victim.partition, covering: victim.offset)
        try session.execute("UPDATE \(quoteIdentifier(target.schema)).decisions SET risk = risk / 2 WHERE topic = $1 AND kafka_partition = $2 AND kafka_offset = $3",
                            [.text(trail.topic), .int32(victim.partition), .int64(victim.offset)])
        let report = try await AuditTestSupport.verify(target.schema, keys: [trail.keyFile])
        #expect(!report.isIntact)
        let p = try #require(AuditTestSupport.partition(report, trail.topic, victim.partition))
        #expect(p.firstBreak?.kind == .rowChanged)
        #expect(p.firstBreak?.table == .decisions)
        #expect(p.firstBreak?.offset == victim.offset)
        #expect(p.firstBreak?.link == link.0..<link.1)
        #expect(p.breaks == 1)
        #expect(report.partitions.filter { !$0.isIntact }.count == 1)
    }

    @Test("a DELETE of one alert is reported as that row missing, at its partition and offset")
    func deletedAlert() async throws {
        let (trail, target) = try await AuditTrailFixture.shared.copy()
        defer { ServeTestSupport.drop(target) }
        let session = try PostgresTestDatabase.session()
        defer { session.close() }
        let s = quoteIdentifier(target.schema)
        let alert = try session.query("SELECT kafka_partition, kafka_offset FROM \(s).alerts WHERE topic = $1 ORDER BY kafka_partition DESC, kafka_offset LIMIT 1 OFFSET 2",
                                      [.text(trail.topic)]).single()
        let (partition, offset): (Int32, Int64) = (try alert.decode(0), try alert.decode(1))
        try session.execute("DELETE FROM \(s).alerts WHERE topic = $1 AND kafka_partition = $2 AND kafka_offset = $3",
                            [.text(trail.topic), .int32(partition), .int64(offset)])
        let report = try await AuditTestSupport.verify(target.schema, keys: [trail.keyFile])
        let p = try #require(AuditTestSupport.partition(report, trail.topic, partition))
        #expect(p.firstBreak?.kind == .rowMissing)
        #expect(p.firstBreak?.table == .alerts)
        #expect(p.firstBreak?.offset == offset)
        #expect(!report.isIntact)
    }

    @Test("an INSERT of a forged decision is reported as a row added, inside a link or past the last one")
    func forgedDecision() async throws {
        let (trail, target) = try await AuditTrailFixture.shared.copy()
        defer { ServeTestSupport.drop(target) }
        let session = try PostgresTestDatabase.session()
        defer { session.close() }
        let s = quoteIdentifier(target.schema)
        // A second row for an offset already decided (another record timestamp gets past the key).
        let victim = try AuditTestSupport.decision(session, target.schema, topic: trail.topic, where: "kafka_partition = 0", index: 321)
        let columns = AuditTable.decisions.columns.map { $0 == "event_id" ? "'forged-1'" : ($0 == "kafka_timestamp" ? "kafka_timestamp + interval '1 ms'" : $0) }
        try session.execute("""
            INSERT INTO \(s).decisions (\(AuditTable.decisions.columns.joined(separator: ", ")))
            SELECT \(columns.joined(separator: ", ")) FROM \(s).decisions WHERE topic = $1 AND kafka_partition = 0 AND kafka_offset = $2
            """, [.text(trail.topic), .int64(victim.offset)])
        var report = try await AuditTestSupport.verify(target.schema, keys: [trail.keyFile])
        var p = try #require(AuditTestSupport.partition(report, trail.topic, 0))
        #expect(p.firstBreak?.kind == .rowAdded)
        #expect(p.firstBreak?.table == .decisions)
        #expect(p.firstBreak?.offset == victim.offset)

        // A decision at a fresh offset of partition 1, beyond every link.
        let next = try ServeTestSupport.scalar("SELECT next_offset FROM \(s).consumer_offsets WHERE topic = $1 AND kafka_partition = 1", [.text(trail.topic)])
        let fresh = AuditTable.decisions.columns.map { $0 == "kafka_offset" ? "$3::bigint" : ($0 == "event_id" ? "'forged-2'" : $0) }
        try session.execute("""
            INSERT INTO \(s).decisions (\(AuditTable.decisions.columns.joined(separator: ", ")))
            SELECT \(fresh.joined(separator: ", ")) FROM \(s).decisions WHERE topic = $1 AND kafka_partition = 1 AND kafka_offset = $2
            """, [.text(trail.topic), .int64(next - 1), .int64(next + 5)])
        report = try await AuditTestSupport.verify(target.schema, keys: [trail.keyFile])
        p = try #require(AuditTestSupport.partition(report, trail.topic, 1))
        #expect(p.firstBreak?.kind == .rowAdded)
        #expect(p.firstBreak?.offset == next + 5)
        #expect(p.firstBreak?.link == nil)
    }

    @Test("a deleted link is reported removed where its range starts; deleting the newest links shows as links missing at the end")
    func deletedLink() async throws {
        let (trail, target) = try await AuditTrailFixture.shared.copy()
        defer { ServeTestSupport.drop(target) }
        let session = try PostgresTestDatabase.session()
        defer { session.close() }
        let s = quoteIdentifier(target.schema)
        let links = try session.query("SELECT from_offset, to_offset FROM \(s).audit_chain WHERE topic = $1 AND kafka_partition = 0 ORDER BY from_offset",
                                      [.text(trail.topic)]).map { (try $0.decode(0, as: Int64.self), try $0.decode(1, as: Int64.self)) }
        #expect(links.count >= 4)
        let middle = links[links.count / 2]
        try session.execute("DELETE FROM \(s).audit_chain WHERE topic = $1 AND kafka_partition = 0 AND from_offset = $2", [.text(trail.topic), .int64(middle.0)])
        var report = try await AuditTestSupport.verify(target.schema, keys: [trail.keyFile])
        var p = try #require(AuditTestSupport.partition(report, trail.topic, 0))
        #expect(p.firstBreak?.kind == .linkRemoved)
        #expect(p.firstBreak?.offset == middle.0)
        #expect(p.linksChecked == links.count - 1)

        let last = links[links.count - 1]
        try session.execute("DELETE FROM \(s).audit_chain WHERE topic = $1 AND kafka_partition = 1", [.text(trail.topic)])
        try session.execute("DELETE FROM \(s).audit_chain WHERE topic = $1 AND kafka_partition = 0 AND from_offset = $2", [.text(trail.topic), .int64(last.0)])
        report = try await AuditTestSupport.verify(target.schema, keys: [trail.keyFile])
        p = try #require(AuditTestSupport.partition(report, trail.topic, 0))
        #expect(p.firstBreak?.kind == .linkRemoved)
        #expect(p.breaks >= 2)
        let tail = try #require(AuditTestSupport.partition(report, trail.topic, 1))
        #expect(tail.firstBreak?.kind == .linkRemoved)
        #expect(tail.firstBreak?.offset == 0)
        // Only the newest link of partition 0 gone: links missing at the end.
        let (_, again) = try await AuditTrailFixture.shared.copy()
        defer { ServeTestSupport.drop(again) }
        try session.execute("DELETE FROM \(quoteIdentifier(again.schema)).audit_chain WHERE topic = $1 AND kafka_partition = 0 AND from_offset = $2",
                            [.text(trail.topic), .int64(last.0)])
        report = try await AuditTestSupport.verify(again.schema, keys: [trail.keyFile])
        p = try #require(AuditTestSupport.partition(report, trail.topic, 0))
        #expect(p.firstBreak?.kind == .linksMissingAtEnd)
        #expect(p.firstBreak?.offset == last.0)
    }

    @Test("a chain recomputed after a change and re-signed without the key fails its signature check at the changed link")
    func resignedWithoutTheKey() async throws {
        let (trail, target) = try await AuditTrailFixture.shared.copy()
        defer { ServeTestSupport.drop(target) }
        let session = try PostgresTestDatabase.session()
        defer { session.close() }
        let s = quoteIdentifier(target.schema)
        let victim = try AuditTestSupport.decision(session, target.schema, topic: trail.topic, where: "kafka_partition = 1 AND decision = 'allow'", index: 100)
        try session.execute("UPDATE \(s).decisions SET decision = 'block' WHERE topic = $1 AND kafka_partition = 1 AND kafka_offset = $2",
                            [.text(trail.topic), .int64(victim.offset)])
        // The forger knows the format and holds the service's rights, but not the key: it
        // recomputes the changed link and every later one, signing with a key of its own under
        // the real key's name.
        let forger = try LinkSigner(algorithm: .hmacSHA256, secret: Array(repeating: 0x42, count: 32))
        let realKeyID = try LinkVerificationKey(keyFile: trail.keyFile).keyID
        var links: [StoredLink] = []
        try session.forEachBinaryRow(PostgresQuery(unsafeSQL: """
            SELECT \(ChainLink.columns.joined(separator: ", ")) FROM \(s).audit_chain WHERE topic = $1 AND kafka_partition = 1 ORDER BY from_offset
            """, binds: [.text(trail.topic)])) { links.append(try StoredLink($0)) }
        var previous: [UInt8]?
        var changedFrom: Int64?
        for stored in links where stored.to > victim.offset {
            var link = stored.link
            if changedFrom == nil {
                changedFrom = link.fromOffset
                var builder = LinkBuilder(topic: trail.topic, partition: 1)
                for table in AuditTable.allCases {
                    try session.forEachBinaryRow(PostgresQuery(unsafeSQL: """
                        SELECT \(table.columns.joined(separator: ", ")) FROM \(s).\(table.viewName)
                        WHERE \(table.topicColumn) = $1 AND \(table.partitionColumn) = 1 AND \(table.offsetColumn) >= $2 AND \(table.offsetColumn) < $3
                        """, binds: [.text(trail.topic), .int64(link.fromOffset), .int64(link.toOffset)])) { row in
                        builder.add(table, offset: try row.int64(table.columns.firstIndex(of: table.offsetColumn)!), fields: row.fields(0..<row.columnCount))
                    }
                }
                let rebuilt = builder.link(from: link.fromOffset, to: link.toOffset, committedAt: link.committedAt, previous: link.prevHash)
                link.rowsSHA256 = rebuilt.rowsSHA256
                link.rowMap = rebuilt.rowMap
            }
            if let previous { link.prevHash = previous }
            try link.seal(signer: forger)
            link.keyID = realKeyID
            previous = link.linkHash
            try session.execute("""
                UPDATE \(s).audit_chain SET rows_sha256 = $3, row_map = $4, prev_hash = $5, link_hash = $6, signature = $7, key_id = $8
                WHERE topic = $1 AND kafka_partition = 1 AND from_offset = $2
                """, [.text(trail.topic), .int64(link.fromOffset), .bytea(link.rowsSHA256), .bytea(link.rowMap), .bytea(link.prevHash),
                      .bytea(link.linkHash), .bytea(link.signature!), .text(realKeyID)])
        }
        let report = try await AuditTestSupport.verify(target.schema, keys: [trail.keyFile])
        let p = try #require(AuditTestSupport.partition(report, trail.topic, 1))
        #expect(p.firstBreak?.kind == .signatureWrong)
        #expect(p.firstBreak?.offset == changedFrom)
        #expect(p.breaks == links.filter { $0.to > victim.offset }.count)
        // Without a key, such a forgery is consistent: signing is what exposes it.
        let unkeyed = try await AuditTestSupport.verify(target.schema)
        #expect(AuditTestSupport.partition(unkeyed, trail.topic, 1)?.isIntact == true)
    }

    @Test("the analyst role runs verify's read path but cannot write the chain; the service cannot change it")
    func roles() async throws {
        let (trail, target) = try await AuditTrailFixture.shared.copy()
        defer { ServeTestSupport.drop(target) }
        let analyst = try await AuditTestSupport.verify(target.schema, keys: [trail.keyFile], role: target.analystRole)
        #expect(analyst.isIntact)
        #expect(analyst.rowsCovered == (try await AuditTestSupport.verify(target.schema)).rowsCovered)
        let session = try PostgresTestDatabase.session()
        defer { session.close() }
        let s = quoteIdentifier(target.schema)
        let denied: (any Error) -> Bool = { ($0 as? PostgresError)?.sqlState == "42501" }
        try PostgresTestDatabase.asRole(target.analystRole, session) {
            for statement in [
                "INSERT INTO \(s).audit_chain SELECT * FROM \(s).audit_links LIMIT 1",
                "UPDATE \(s).audit_chain SET signature = NULL",
                "DELETE FROM \(s).audit_chain",
                "UPDATE \(s).audit_links SET signature = NULL",
                "DELETE FROM \(s).audit_links",
                "INSERT INTO \(s).audit_decisions SELECT * FROM \(s).audit_decisions LIMIT 1",
                "UPDATE \(s).audit_decisions SET risk = 0",
                "DELETE FROM \(s).audit_alerts",
                "SELECT * FROM \(s).audit_chain LIMIT 1",
            ] {
                #expect("\(statement)", performing: { try session.execute(statement, []) }, throws: denied)
            }
        }
        try PostgresTestDatabase.asRole(target.serviceRole, session) {
            let links = try session.query("SELECT count(*) FROM \(s).audit_chain", []).single().decode(0, as: Int64.self)
            #expect(links > 0)
            for statement in ["UPDATE \(s).audit_chain SET signature = NULL", "DELETE FROM \(s).audit_chain", "TRUNCATE \(s).audit_chain"] {
                #expect("\(statement)", performing: { try session.execute(statement, []) }, throws: denied)
            }
        }
    }

    @Test("an offset window verifies the whole links that overlap it and checks the link before it")
    func window() async throws {
        let (trail, target) = try await AuditTrailFixture.shared.copy()
        defer { ServeTestSupport.drop(target) }
        let session = try PostgresTestDatabase.session()
        defer { session.close() }
        let victim = try AuditTestSupport.decision(session, target.schema, topic: trail.topic, where: "kafka_partition = 0", index: 700)
        let link = try AuditTestSupport.link(session, target.schema, topic: trail.topic, partition: 0, covering: victim.offset)
        let whole = try await AuditTestSupport.verify(target.schema, keys: [trail.keyFile], VerifyRequest(topic: trail.topic, partition: 0))
        let windowed = try await AuditTestSupport.verify(target.schema, keys: [trail.keyFile],
                                                   VerifyRequest(topic: trail.topic, partition: 0, fromOffset: victim.offset, toOffset: victim.offset + 1))
        #expect(windowed.isIntact)
        #expect(windowed.partitions.count == 1)
        #expect(windowed.linksChecked == 1)
        #expect(windowed.partitions[0].covered == link.0..<link.1)
        #expect(windowed.rowsCovered < whole.rowsCovered)
        // A change outside the window is not seen; inside it is.
        let s = quoteIdentifier(target.schema)
        try session.execute("UPDATE \(s).decisions SET amount = amount + 1 WHERE topic = $1 AND kafka_partition = 0 AND kafka_offset = $2",
                            [.text(trail.topic), .int64(link.1)])
        #expect(try await AuditTestSupport.verify(target.schema, VerifyRequest(topic: trail.topic, partition: 0, fromOffset: link.0, toOffset: link.1)).isIntact)
        try session.execute("UPDATE \(s).decisions SET amount = amount + 1 WHERE topic = $1 AND kafka_partition = 0 AND kafka_offset = $2",
                            [.text(trail.topic), .int64(victim.offset)])
        let broken = try await AuditTestSupport.verify(target.schema, VerifyRequest(topic: trail.topic, partition: 0, fromOffset: link.0, toOffset: link.1))
        #expect(broken.partitions.first?.firstBreak?.offset == victim.offset)
    }
}
