// Parsing connection settings and keeping passwords out of output.
import Testing
@testable import VigilPostgres

@Suite("PostgresConfiguration")
struct PostgresConfigurationTests {
    @Test("a URL becomes libpq keywords, TLS options included, and the password is redacted")
    func url() throws {
        let configuration = try PostgresConfiguration(url: "postgresql://vigil:s3cret@db.example:5433/audit?sslmode=verify-full&sslrootcert=/etc/ca.pem")
        #expect(configuration.keywords["host"] == "db.example")
        #expect(configuration.keywords["port"] == "5433")
        #expect(configuration.keywords["dbname"] == "audit")
        #expect(configuration.keywords["sslmode"] == "verify-full")
        #expect(configuration.keywords["password"] == "s3cret")
        #expect(!configuration.description.contains("s3cret"))
        #expect(configuration.description.contains("password=<redacted>"))
    }

    @Test("keyword strings parse too; a malformed string is an error that does not echo it")
    func keywordString() throws {
        let configuration = try PostgresConfiguration(url: "host=/var/run/postgresql dbname=vigil")
        #expect(configuration.keywords["host"] == "/var/run/postgresql")
        #expect {
            try PostgresConfiguration(url: "host=x password=hunter2 nonsense_keyword=1")
        } throws: { error in
            guard let error = error as? PostgresError else { return false }
            return error.code == .invalidConfiguration && !error.debugDescription.contains("hunter2")
        }
    }

    @Test("session options pin UTC and ISO dates and keep the caller's own options")
    func sessionOptions() {
        let parameters = Dictionary(uniqueKeysWithValues: PostgresConfiguration(keywords: ["options": "-c statement_timeout=5s"]).connectionParameters())
        #expect(parameters["options"]?.contains("TimeZone=UTC") == true)
        #expect(parameters["options"]?.hasSuffix("-c statement_timeout=5s") == true)
        #expect(parameters["fallback_application_name"] == "vigil")
        #expect(parameters["connect_timeout"] == "10")
    }

    @Test("reconnect backoff doubles from the initial wait and stops at the maximum")
    func backoff() {
        var reconnect = PostgresConfiguration.Reconnect()
        reconnect.initialBackoff = .milliseconds(100)
        reconnect.maxBackoff = .milliseconds(700)
        #expect((1...5).map { reconnect.backoff(afterAttempt: $0) } == [
            .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(700), .milliseconds(700),
        ])
    }
}
