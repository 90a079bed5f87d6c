// The Docker runtime stage installs only tools/apt-packages' runtime section (plus the
// librdkafka 2.8 it copies from the builder). Here, against the binary this machine built:
// every shared library `vigil` and librdkafka load directly comes from a package of that
// section (or libc6, in every Debian image). The Swift runtime is left out: the image links
// it statically (--static-swift-stdlib).
import Foundation
import Testing

@Suite struct DeployRuntimeLibrariesTests {
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        try ChildProcess.run(executable, arguments).stdout
    }

    static let objdump = ["/usr/bin/objdump", "/bin/objdump"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let librdkafka = "/usr/local/lib/librdkafka.so.1"

    /// Library names a binary's dynamic section asks for (DT_NEEDED), with the paths ldd resolves them to.
    static func needed(_ binary: String) throws -> [(name: String, path: String?)] {
        let names = try run(objdump!, ["-p", binary]).split(separator: "\n")
            .filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("NEEDED") }
            .compactMap { $0.split(separator: " ").last.map(String.init) }
        var paths: [String: String] = [:]
        for line in try run("/usr/bin/ldd", [binary]).split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count >= 3, parts[1] == "=>" { paths[String(parts[0].trimmingCharacters(in: .whitespaces))] = String(parts[2]) }
        }
        return names.map { ($0, paths[$0]) }
    }

    /// The Debian package owning a file (symlinks, like the openblas alternative, resolved first).
    static func package(owning path: String) throws -> String? {
        let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        for candidate in [real, real.replacingOccurrences(of: "/usr/lib/", with: "/lib/"), real.replacingOccurrences(of: "/lib/", with: "/usr/lib/")] {
            let answer = try run("/usr/bin/dpkg", ["-S", candidate])
            if let first = answer.split(separator: "\n").first, let colon = first.firstIndex(of: ":") {
                return String(first[..<colon])
            }
        }
        return nil
    }

    @Test(.enabled(if: objdump != nil && FileManager.default.fileExists(atPath: librdkafka), "needs objdump and librdkafka in /usr/local"))
    func runtimeSectionCoversTheLinkedLibraries() throws {
        let printed = try Self.run("/bin/bash", [DeployMetricsTests.root.appendingPathComponent("tools/bootstrap").path, "--profile", "image-runtime", "--print"])
        let runtime = Set(printed.split(separator: "\n").map(String.init)).union(["libc6"])
        #expect(runtime.count > 5)
        let binary = try ServeCrashTests.vigilExecutable().path
        let statically = ["libswift", "libFoundation", "libdispatch", "libBlocksRuntime", "ld-linux", "librdkafka.so"]
        var checked = 0
        for library in try Self.needed(binary) + Self.needed(Self.librdkafka) where !statically.contains(where: { library.name.hasPrefix($0) }) {
            let path = try #require(library.path, "ldd does not resolve \(library.name)")
            let owner = try #require(try Self.package(owning: path), "no package owns \(path)")
            #expect(runtime.contains(owner), "\(library.name) comes from \(owner), which the runtime section lacks")
            checked += 1
        }
        // libopenblas, libpq, libm, libc from vigil; libssl, libcrypto, libsasl2, libzstd, liblz4, libz from librdkafka.
        #expect(checked >= 8)
    }
}
