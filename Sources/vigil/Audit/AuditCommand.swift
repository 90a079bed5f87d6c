// `vigil audit`: the audit trail's hash chain. `verify` recomputes it from the stored rows
// (VigilAudit's AuditVerifier) and names the first broken link; `keygen` writes a signing key.
import ArgumentParser
import Foundation
import VigilService
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "The tamper-evident audit trail: verify its hash chain, make signing keys.",
        subcommands: [AuditVerifyCommand.self, AuditKeygenCommand.self]
    )
}

struct AuditVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Recompute the hash chain from the stored decisions, alerts, dead letters and labels; name the first broken link.",
        discussion: """
            Per (topic, partition): every link's hash from its stored fields, its previous link, its signature (with --key-file),
            and its rows: their count per table and SHA-256 against the link, and, where they differ, the offset and table of the
            first row changed, missing or added. Rows outside every link and offsets committed past the last link are breaks too.
            Reads only the audit_* views, so the analyst role can run it. Each partition is read in one REPEATABLE READ snapshot.

            The password comes from PGPASSFILE / ~/.pgpass or PGPASSWORD, never from the command line.
            Progress goes to standard error when it is a terminal.

            Exit codes: 0 intact, 1 broken, 64 bad arguments or key files, 69 database unreachable, 70 other errors.
            """
    )

    @Option(help: "PostgreSQL URL or libpq keywords, without password. Default: $VIGIL_DATABASE_URL, else libpq's PG* variables.")
    var databaseURL: String?
    @Option(help: "Schema holding Vigil's tables.") var schema = "vigil"
    @Option(help: "Only this topic.") var topic: String?
    @Option(help: "Only this partition.") var partition: Int32?
    @Option(help: "Verify the links that end above this offset (whole links).") var fromOffset: Int64?
    @Option(help: "Verify the links that start below this offset (whole links).") var toOffset: Int64?
    @Option(help: "Key to check signatures with: the HMAC key file, or the Ed25519 private or public key file. Repeat for rotated keys.")
    var keyFile: [String] = []
    @Flag(help: "Print the report as one JSON object instead of text.") var json = false
    @Option(help: "Partitions verified at once, each on its own connection (the database's reads are the limit).") var jobs = 2

    func validate() throws {
        if let databaseURL, let configuration = try? PostgresConfiguration(url: databaseURL), configuration.keywords["password"] != nil {
            throw ValidationError("--database-url must not contain a password; use PGPASSFILE or PGPASSWORD")
        }
        if let fromOffset, let toOffset, fromOffset >= toOffset { throw ValidationError("--from-offset must be below --to-offset") }
        if let fromOffset, fromOffset < 0 { throw ValidationError("--from-offset must not be negative") }
        if let partition, partition < 0 { throw ValidationError("--partition must not be negative") }
        guard (1...32).contains(jobs) else { throw ValidationError("--jobs must be in 1...32") }
        for file in keyFile {
            do { _ = try LinkVerificationKey(keyFile: file) } catch let error as AuditError { throw ValidationError(error.explanation) }
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let keys = try keyFile.map { try LinkVerificationKey(keyFile: $0) }
        let request = VerifyRequest(topic: topic, partition: partition, fromOffset: fromOffset, toOffset: toOffset, keys: keys)
        let progress = isatty(STDERR_FILENO) == 1 ? TerminalProgress() : nil
        let report: VerifyReport
        do {
            let configuration = try databaseURL.map(PostgresConfiguration.init(url:)) ?? PostgresConfiguration.fromEnvironment(environment)
            let connections = (0..<jobs).map { PostgresConnection(configuration: configuration, label: "vigil.audit.verify.\($0)") }
            do {
                report = try await AuditVerifier.verify(using: connections, schema: schema, request) { progress?.show($0) }
            } catch {
                for connection in connections { await connection.close() }
                throw error
            }
            for connection in connections { await connection.close() }
        } catch let error as PostgresError {
            progress?.clear()
            var message = "vigil audit verify: \(error)"
            if let server = error.serverInfo?.message { message += " (server: \(server))" }
            FileHandle.standardError.write(Data((message + "\n").utf8))
            throw ExitCode(error.code == .connectionFailed || error.code == .connectionLost ? 69 : 70)
        } catch let error as AuditError {
            progress?.clear()
            FileHandle.standardError.write(Data("vigil audit verify: \(error.explanation)\n".utf8))
            throw ExitCode(70)
        }
        progress?.clear()
        print(json ? Self.json(report, schema: schema) : Self.text(report, schema: schema))
        if !report.isIntact { throw ExitCode(1) }
    }

    static func text(_ report: VerifyReport, schema: String) -> String {
        var lines: [String] = []
        if report.partitions.isEmpty { lines.append("schema \(schema): no chain links or stored offsets found") }
        for p in report.partitions {
            let tables = AuditTable.allCases.filter { p.rows[$0.rawValue] > 0 }.map { "\(grouped(p.rows[$0.rawValue])) \($0.tableName.replacingOccurrences(of: "_", with: " "))" }
            var line = "\(p.topic)/\(p.partition): \(p.isIntact ? "intact" : "BROKEN"): \(grouped(Int64(p.linksChecked))) links, \(grouped(p.rowsCovered)) rows"
            if !tables.isEmpty { line += " (\(tables.joined(separator: ", ")))" }
            if let covered = p.covered { line += ", offsets \(covered.lowerBound)..<\(covered.upperBound)" }
            if p.signedLinks > 0 { line += ", \(grouped(Int64(p.signedLinks))) signed (\(grouped(Int64(p.signaturesChecked))) checked)" }
            if let head = p.headHash { line += ", head \(hexString(head.prefix(8)))" }
            lines.append(line)
            if let first = p.firstBreak {
                lines.append("  first break: offset \(first.offset): \(first.table.map { "\($0) " } ?? "")\(first.kind.rawValue)"
                             + (first.link.map { " (link \($0.lowerBound)..<\($0.upperBound))" } ?? "") + (first.detail.isEmpty ? "" : ": \(first.detail)"))
                if p.breaks > 1 { lines.append("  \(p.breaks - 1) more break(s) in this partition") }
            }
            for note in p.notes { lines.append("  note: \(note)") }
        }
        let rate = report.seconds > 0 ? Double(report.rowsCovered) / report.seconds : 0
        lines.append("\(report.isIntact ? "intact" : "BROKEN"): \(report.partitions.count) partition(s), \(grouped(Int64(report.linksChecked))) links, "
                     + "\(grouped(report.rowsCovered)) rows in \(String(format: "%.1f", report.seconds)) s (\(grouped(Int64(rate))) rows/s)")
        return lines.joined(separator: "\n")
    }

    static func json(_ report: VerifyReport, schema: String) -> String {
        let partitions: [[String: Any]] = report.partitions.map { p in
            var entry: [String: Any] = ["topic": p.topic, "partition": p.partition, "intact": p.isIntact, "links": p.linksChecked,
                                        "rows": p.rowsCovered, "breaks": p.breaks, "signed_links": p.signedLinks,
                                        "signatures_checked": p.signaturesChecked, "notes": p.notes]
            for table in AuditTable.allCases { entry[table.tableName] = p.rows[table.rawValue] }
            if let covered = p.covered { entry["from_offset"] = covered.lowerBound; entry["to_offset"] = covered.upperBound }
            if let head = p.headHash { entry["head_hash"] = hexString(head) }
            if let b = p.firstBreak {
                var brk: [String: Any] = ["kind": b.kind.rawValue, "offset": b.offset, "detail": b.detail]
                if let table = b.table { brk["table"] = table.tableName }
                if let link = b.link { brk["link_from"] = link.lowerBound; brk["link_to"] = link.upperBound }
                entry["first_break"] = brk
            }
            return entry
        }
        let object: [String: Any] = ["schema": schema, "intact": report.isIntact, "partitions": partitions, "links": report.linksChecked,
                                     "rows": report.rowsCovered, "seconds": (report.seconds * 1000).rounded() / 1000]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func grouped(_ n: Int64) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }
}

/// A progress line on standard error, redrawn at most every 200 ms: rows verified, rate, ETA.
final class TerminalProgress: Sendable {
    private struct State {
        var started = ContinuousClock.now
        var shownAt: ContinuousClock.Instant?
    }
    private let state = Mutex(State())

    func show(_ p: VerifyProgress) {
        let now = ContinuousClock.now
        let started: ContinuousClock.Instant? = state.withLock { s in
            if let shown = s.shownAt, now - shown < .milliseconds(200) { return nil }
            s.shownAt = now
            return s.started
        }
        guard let started else { return }
        let elapsed = (now - started).components
        let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        let rate = seconds > 0 ? Double(p.rowsDone) / seconds : 0
        var line = "\(AuditVerifyCommand.grouped(p.rowsDone)) of \(AuditVerifyCommand.grouped(p.rowsTotal)) rows verified, \(AuditVerifyCommand.grouped(Int64(rate))) rows/s"
        if p.rowsTotal > p.rowsDone, rate > 0 { line += String(format: ", about %.0f s left", Double(p.rowsTotal - p.rowsDone) / rate) }
        line += " (\(p.topic)/\(p.partition))"
        FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
    }

    func clear() { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
}

struct AuditKeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Write a new key for signing chain links (audit.signing_key_file).",
        discussion: """
            ed25519 (default): the private key file signs; the public key (printed, and written with --public-out) is all
            `vigil audit verify --key-file` needs, so verifiers cannot sign. hmac-sha256: one shared secret signs and verifies.
            The key file is created with mode 0600 and never overwritten.
            """
    )

    @Option(help: "ed25519 or hmac-sha256.") var algorithm = "ed25519"
    @Option(help: "Where to write the private key file.") var out: String
    @Option(help: "Where to write the Ed25519 public key file.") var publicOut: String?

    func validate() throws {
        guard SigningAlgorithm(rawValue: algorithm) != nil else { throw ValidationError("--algorithm must be ed25519 or hmac-sha256") }
        if publicOut != nil, algorithm != "ed25519" { throw ValidationError("--public-out is for ed25519 keys") }
        for path in [out] + (publicOut.map { [$0] } ?? []) where FileManager.default.fileExists(atPath: path) {
            throw ValidationError("\(path) exists; not overwriting a key")
        }
    }

    func run() throws {
        let (secret, publicKey) = LinkSigner.generate(SigningAlgorithm(rawValue: algorithm)!)
        guard FileManager.default.createFile(atPath: out, contents: Data((secret + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot create \(out)")
        }
        let signer = try LinkSigner(keyFile: out)
        print("wrote \(out) (\(signer.keyID))")
        if let publicKey {
            if let publicOut {
                guard FileManager.default.createFile(atPath: publicOut, contents: Data((publicKey + "\n").utf8), attributes: [.posixPermissions: 0o644]) else {
                    throw ValidationError("cannot create \(publicOut)")
                }
                print("wrote \(publicOut)")
            }
            print(publicKey)
        }
    }
}
