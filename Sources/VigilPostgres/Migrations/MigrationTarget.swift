// Where migrations go: the schema and the two role names, validated so they can
// be spliced into DDL (which cannot take parameters) without any injection risk.

/// The schema and role names the migration files' placeholders stand for.
///
/// Files use `@schema@`, `@service_role@`, `@analyst_role@` (replaced by quoted
/// identifiers) and `@schema_literal@`, `@service_role_literal@`,
/// `@analyst_role_literal@` (replaced by SQL string literals). The names are the
/// caller's (`vigil migrate`'s options); tests migrate private schemas and roles so
/// they can run concurrently on one server.
public struct MigrationTarget: Sendable, Hashable {
    public let schema: String
    /// The role the service connects as.
    public let serviceRole: String
    /// The role analysts read the views as.
    public let analystRole: String

    /// Names must be lowercase identifiers: a letter or underscore, then letters,
    /// digits or underscores, at most 63 bytes (PostgreSQL's limit).
    public init(schema: String, serviceRole: String, analystRole: String) throws {
        for (what, name) in [("schema", schema), ("service role", serviceRole), ("analyst role", analystRole)] {
            guard Self.isPlainIdentifier(name) else {
                throw PostgresError(.invalidConfiguration, reason: "\(what) name must match [a-z_][a-z0-9_]* and have at most 63 characters")
            }
        }
        guard serviceRole != analystRole else {
            throw PostgresError(.invalidConfiguration, reason: "the service and analyst roles must differ")
        }
        self.schema = schema
        self.serviceRole = serviceRole
        self.analystRole = analystRole
    }

    static func isPlainIdentifier(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 63 else { return false }
        let isLetter = { (b: UInt8) in (97...122).contains(b) || b == 95 }
        return isLetter(first) && bytes.allSatisfy { isLetter($0) || (48...57).contains($0) }
    }

    /// The file text with every placeholder replaced.
    func render(_ sql: String) -> String {
        var text = sql
        let names = [("schema", schema), ("service_role", serviceRole), ("analyst_role", analystRole)]
        for (placeholder, name) in names {
            text = text.replacingOccurrences(of: "@\(placeholder)_literal@", with: "'\(name)'")
            text = text.replacingOccurrences(of: "@\(placeholder)@", with: "\"\(name)\"")
        }
        return text
    }
}
