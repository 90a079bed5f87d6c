// Golden vectors of the chain's canonical encoding (sql/README.md, "The audit chain"). The
// expected hex strings were computed by an independent Python implementation of the
// documented format (hashlib, struct), not by this code.
import Foundation
import Testing
import VigilAudit
import VigilPostgres

@Suite("Audit chain encoding")
struct ChainEncodingTests {
    static let decidedAt = Date(timeIntervalSince1970: 1_772_366_400.5)

    /// The golden decision row's canonical fields (`AuditTable.decisions.columns`).
    static func decisionFields() throws -> PostgresBinaryFields {
        var f = PostgresBinaryFields()
        try f.append(Date(timeIntervalSince1970: 1_772_366_400.123))
        f.append(Int64(42))
        try f.append(Date(timeIntervalSince1970: 1_772_366_399))
        try f.append(decidedAt)
        f.append(123.45)
        f.append(Int64(7))
        f.append(Int32(3))
        f.append(Float(1.5)); f.append(Float(0.25)); f.append(Float(0.75))
        for text in ["transactions", "tx-1-42", "card-0000042", "m-000007", "EUR", "review", "c:amount=0.42;r:time.hour_sin=12.5"] {
            try f.append(text)
        }
        f.append(floats: [Float(1), -2.5, 0])
        return f
    }

    static func alertFields() throws -> PostgresBinaryFields {
        var f = PostgresBinaryFields()
        try f.append("tx-1-42"); try f.append("transactions"); f.append(Int32(3)); f.append(Int64(42)); try f.append(decidedAt)
        try f.append("card-0000042"); try f.append("m-000007"); f.append(123.45); try f.append("EUR"); f.append(Float(0.75))
        f.append(Int64(7)); try f.append("review")
        try f.append(jsonb: #"[{"kind": "classifier", "name": "amount", "weight": 0.42}, {"kind": "reconstruction", "name": "time.hour_sin", "weight": 12.5}]"#)
        return f
    }

    static func deadLetterFields() throws -> PostgresBinaryFields {
        var f = PostgresBinaryFields()
        try f.append("transactions"); f.append(Int32(3)); f.append(Int64(43)); try f.append(decidedAt)
        try f.append("malformed_json"); try f.append("unexpected end of input")
        f.append(bytea: Array("card-1".utf8)); f.append(bytea: Array(#"{"event_id":"#.utf8))
        return f
    }

    @Test("row digests, the rows hash, the row map and the link hash match the documented encoding")
    func goldenLink() throws {
        let decision = try Self.decisionFields(), alert = try Self.alertFields(), dead = try Self.deadLetterFields()
        #expect(decision.count == 262 && alert.count == 268 && dead.count == 119)
        #expect(hexString(LinkBuilder.digest(decision.bytes[...])) == "90b76a4829694f9fbd05def087c5937f1ab695932c68b41b8a0e56e5900c3fa6")
        #expect(hexString(LinkBuilder.digest(alert.bytes[...])) == "282b55e9e0b166a62d114eee0fcc68b75339b851bc6eb03200bebce882a0abac")
        #expect(hexString(LinkBuilder.digest(dead.bytes[...])) == "21805a82256cc6e8462a150b49c6e412a2ac63eaf63c0f79430cdc6595b5dce9")

        // Added out of table order: the link hashes tables in order, each in offset order.
        var builder = LinkBuilder(topic: "transactions", partition: 3)
        builder.add(.deadLetters, offset: 43, fields: dead.bytes[...])
        builder.add(.alerts, offset: 42, fields: alert.bytes[...])
        builder.add(.decisions, offset: 42, fields: decision.bytes[...])
        #expect(builder.firstOffset == 42)
        var link = builder.link(from: 42, to: 44, committedAt: Self.decidedAt, previous: ChainLink.genesis)
        #expect(link.counts == [1, 1, 1, 0])
        #expect(hexString(link.rowsSHA256) == "e10f3a88824ec797beff4e14a7bda33c89b309d02b5c06ca2bb6d4f717aabe93")
        #expect(hexString(link.rowMap) == "0390b76a48282b55e90421805a82")
        try link.seal(signer: nil)
        #expect(hexString(link.linkHash) == "d65a07fce7f1fbc9729a378aa26a7a7f85546aca1994b227ba9adb207f7e430e")
        #expect(link.signature == nil && link.keyID == nil)

        let signer = try LinkSigner(algorithm: .hmacSHA256, secret: Array(0..<32))
        try link.seal(signer: signer)
        #expect(hexString(link.signature ?? []) == "d5bd96ad4105ac6490a6fd61adbb37e42cc833f519523a90dc38037e21fe1884")
        #expect(link.keyID == "hmac-sha256:3b44d094e5869b56")
        #expect(signer.verificationKey.isValid(link.signature!, for: link.linkHash))
    }

    @Test("a link's values follow ChainLink.columns and its hash covers only the hashed columns")
    func linkColumns() throws {
        var builder = LinkBuilder(topic: "t", partition: 0)
        builder.add(.decisions, offset: 5, fields: [1, 2, 3][...])
        var link = builder.link(from: 5, to: 6, committedAt: Self.decidedAt, previous: ChainLink.genesis)
        try link.seal(signer: nil)
        #expect(link.values().count == ChainLink.columns.count)
        var fields = PostgresBinaryFields()
        for value in link.values().prefix(ChainLink.hashedColumnCount) { try fields.append(value) }
        #expect(fields.bytes == (try link.hashedFields()).bytes)
        let unsealed = link.linkHash
        link.keyID = "another"
        #expect(try link.computedHash() == unsealed)
        link.toOffset = 7
        #expect(try link.computedHash() != unsealed)
    }

    @Test("the row map encodes runs of empty offsets and decodes back; malformed maps are refused")
    func rowMap() throws {
        let tag: UInt32 = 0x0102_0304
        var rows: [(offset: Int64, table: AuditTable, tag: UInt32)] = [(10, .decisions, tag), (14, .deadLetters, tag)]
        let map = RowMap(from: 10, to: 215, rows: rows)
        #expect(hexString(map.encoded()) == "01010203040003040102030400c801")
        let decoded = try RowMap(decoding: map.encoded(), count: 205)
        #expect(decoded == map)
        #expect(decoded.entries[0].tag(.decisions) == tag && decoded.entries[0].tag(.alerts) == nil)
        #expect(decoded.entries[4].tag(.deadLetters) == tag)
        // Every table at one offset, and a second row of one table (the first is kept).
        rows = AuditTable.allCases.map { (0, $0, UInt32($0.rawValue + 1)) } + [(0, .alerts, 99)]
        let full = RowMap(from: 0, to: 1, rows: rows)
        #expect(full.encoded() == [0x0F, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4])
        #expect(try RowMap(decoding: [], count: 0).entries.isEmpty)
        for (bytes, count) in [([UInt8]([0x01, 0, 0]), 1), ([0x00, 0x05], 3), ([0x00, 0x80], 3), ([0x10, 0, 0, 0, 0], 1), ([0x01, 0, 0, 0, 0], 2)] {
            #expect(throws: AuditError.self, "\(bytes)") { try RowMap(decoding: bytes, count: count) }
        }
    }

    @Test("the marker of a chain over unchained history is the documented constant")
    func markers() {
        #expect(ChainLink.genesis == [UInt8](repeating: 0, count: 32))
        #expect(hexString(ChainLink.unchainedHistory) == "56bae5ecd4d023a43859c10f6efe5482772a4d3432cfa425a74a1398cd4f14d4")
    }
}

@Suite("Audit chain signatures")
struct LinkSigningTests {
    func file(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-key-\(UUID().uuidString)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("an Ed25519 key signs; its public key file verifies; another key or another hash does not")
    func ed25519() throws {
        let (secret, publicKey) = LinkSigner.generate(.ed25519)
        let signerPath = try file(secret + "\n"), publicPath = try file(publicKey!)
        defer { try? FileManager.default.removeItem(atPath: signerPath); try? FileManager.default.removeItem(atPath: publicPath) }
        let signer = try LinkSigner(keyFile: signerPath)
        #expect(signer.algorithm == .ed25519 && signer.keyID.hasPrefix("ed25519:") && signer.keyID.count == "ed25519:".count + 16)
        let hash = Array(repeating: UInt8(7), count: 32)
        let signature = try signer.sign(hash)
        let verifier = try LinkVerificationKey(keyFile: publicPath)
        #expect(verifier.keyID == signer.keyID)
        #expect(verifier.isValid(signature, for: hash))
        #expect(!verifier.isValid(signature, for: Array(repeating: 8, count: 32)))
        let other = try LinkSigner(keyFile: try file(LinkSigner.generate(.ed25519).secret))
        #expect(!verifier.isValid(try other.sign(hash), for: hash))
        #expect(other.keyID != signer.keyID)
        #expect(throws: AuditError.self) { try LinkSigner(keyFile: publicPath) }
    }

    @Test("HMAC keys verify only with the same secret; malformed key files are refused by name")
    func hmacAndMalformed() throws {
        let (secret, publicKey) = LinkSigner.generate(.hmacSHA256)
        #expect(publicKey == nil)
        let path = try file(secret)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let signer = try LinkSigner(keyFile: path)
        let hash = Array(repeating: UInt8(1), count: 32)
        #expect(try LinkVerificationKey(keyFile: path).isValid(try signer.sign(hash), for: hash))
        #expect(!(try LinkSigner(algorithm: .hmacSHA256, secret: Array(repeating: 9, count: 32))).verificationKey.isValid(try signer.sign(hash), for: hash))
        for bad in ["", "nonsense", "rsa:AAAA", "hmac-sha256:not base64!", "hmac-sha256:" + Data(repeating: 1, count: 16).base64EncodedString(),
                    "ed25519:" + Data(repeating: 1, count: 31).base64EncodedString()] {
            let badPath = try file(bad)
            defer { try? FileManager.default.removeItem(atPath: badPath) }
            #expect(throws: AuditError.self, "\(bad)") { try LinkSigner(keyFile: badPath) }
        }
        #expect(throws: AuditError.self) { try LinkSigner(keyFile: "/nonexistent/key") }
    }
}
