// deploy/docker/Dockerfile installs its Debian packages only through tools/bootstrap on
// tools/apt-packages (the one list), and tools/bootstrap's profiles are that file's sections.
import Foundation
import Testing

@Suite struct ContainerImageTests {
    /// The Dockerfile's instructions, with line continuations joined and comments dropped.
    static func instructions() throws -> [(keyword: String, arguments: String)] {
        var joined: [String] = []
        var current = ""
        for raw in try DeployFiles.text("deploy/docker/Dockerfile").split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if current.isEmpty && (line.isEmpty || line.hasPrefix("#")) { continue }
            if line.hasSuffix("\\") {
                current += line.dropLast() + " "
            } else {
                joined.append(current + line)
                current = ""
            }
        }
        return joined.map { line in
            let parts = line.split(separator: " ", maxSplits: 1)
            return (parts[0].uppercased(), parts.count > 1 ? String(parts[1]) : "")
        }
    }

    /// The Dockerfile's stages: each FROM starts one, named by its `AS`.
    static func stages() throws -> [(name: String, instructions: [(keyword: String, arguments: String)])] {
        var stages: [(String, [(keyword: String, arguments: String)])] = []
        for instruction in try instructions() {
            if instruction.keyword == "FROM" {
                let words = instruction.arguments.split(separator: " ")
                let name = words.count >= 3 && words[words.count - 2].uppercased() == "AS" ? String(words.last!) : "stage\(stages.count)"
                stages.append((name, []))
            } else if !stages.isEmpty {
                stages[stages.count - 1].1.append(instruction)
            }
        }
        return stages
    }

    /// The packages of the named sections of tools/apt-packages, read here independently of
    /// the bootstrap script's own parser (file order, each once).
    static func packages(sections wanted: [String]) throws -> [String] {
        var section = ""
        var result: [String] = []
        for raw in try DeployFiles.text("tools/apt-packages").split(separator: "\n") {
            let line = (raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") { section = String(line.dropFirst().dropLast()); continue }
            if wanted.contains(section) && !result.contains(line) { result.append(line) }
        }
        return result
    }

    static func bootstrapPrint(_ profile: String, bootstrap: URL = DeployFiles.url("tools/bootstrap")) throws -> (status: Int32, output: String) {
        try DeployFiles.run("/bin/bash", [bootstrap.path, "--profile", profile, "--print"])
    }

    @Test func noPackageIsInstalledOutsideBootstrap() throws {
        for instruction in try Self.instructions() where instruction.keyword == "RUN" {
            for forbidden in ["apt-get install", "apt install", "dpkg -i", "apt-get -y install", "pip install"] {
                #expect(!instruction.arguments.contains(forbidden), "the Dockerfile installs packages itself: \(instruction.arguments)")
            }
        }
    }

    @Test func eachStageRunsBootstrapOnTheOneList() throws {
        let stages = try Self.stages()
        #expect(stages.map(\.name) == ["builder", "runtime"])
        let expected = ["builder": "image-build", "runtime": "image-runtime"]
        for stage in stages {
            let copies = stage.instructions.filter { $0.keyword == "COPY" && !$0.arguments.hasPrefix("--from") }.map(\.arguments)
            #expect(copies.contains { $0.contains("tools/apt-packages") && $0.contains("tools/bootstrap") }, "\(stage.name) does not copy the package list and bootstrap")
            #expect(copies.contains { $0.hasPrefix("tools/lib/common.sh ") }, "\(stage.name) does not copy tools/lib/common.sh")
            let runs = stage.instructions.filter { $0.keyword == "RUN" }.map(\.arguments)
            let profile = try #require(expected[stage.name])
            #expect(runs.contains { $0.contains("tools/bootstrap --profile \(profile)") }, "\(stage.name) does not run tools/bootstrap --profile \(profile)")
        }
    }

    @Test(arguments: [("dev", ["build", "runtime", "local-stack"]), ("image-build", ["build"]), ("image-runtime", ["runtime"])])
    func bootstrapProfilesAreTheListSections(_ profile: String, _ sections: [String]) throws {
        let printed = try Self.bootstrapPrint(profile)
        #expect(printed.status == 0, "\(printed.output)")
        let listed = printed.output.split(separator: "\n").map(String.init)
        let expected = try Self.packages(sections: sections)
        #expect(!expected.isEmpty)
        #expect(listed == expected)
    }

    @Test func runtimeSectionHoldsWhatTheBinaryAndLibrdkafkaLoad() throws {
        // The slim image gets only the runtime section; these are the libraries `vigil`
        // (static Swift runtime) and the librdkafka 2.8 build link against.
        let runtime = Set(try Self.packages(sections: ["runtime"]))
        for package in ["libpq5", "libopenblas0-pthread", "libssl3", "libsasl2-2", "libzstd1", "liblz4-1", "zlib1g", "libstdc++6", "libgcc-s1", "curl", "ca-certificates"] {
            #expect(runtime.contains(package), "runtime section lacks \(package)")
        }
        // Compilers and headers stay in the builder stage.
        #expect(runtime.allSatisfy { !$0.hasSuffix("-dev") && $0 != "build-essential" })
    }

    @Test func bootstrapRefusesUnknownProfilesAndPackagesOutsideSections() throws {
        #expect(try Self.bootstrapPrint("nonsense").status != 0)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bootstrap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("lib"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.copyItem(at: DeployFiles.url("tools/bootstrap"), to: folder.appendingPathComponent("bootstrap"))
        try FileManager.default.copyItem(at: DeployFiles.url("tools/lib/common.sh"), to: folder.appendingPathComponent("lib/common.sh"))
        try "libpq5\n[runtime]\nzlib1g\n".write(to: folder.appendingPathComponent("apt-packages"), atomically: true, encoding: .utf8)
        let result = try Self.bootstrapPrint("image-runtime", bootstrap: folder.appendingPathComponent("bootstrap"))
        #expect(result.status != 0)
        #expect(result.output.contains("outside any [section]"))
    }

    @Test func runtimeStageRunsAsNonRootWithAHealthcheck() throws {
        let runtime = try #require(try Self.stages().last)
        let users = runtime.instructions.filter { $0.keyword == "USER" }.map(\.arguments)
        let user = try #require(users.last)
        #expect(!["root", "0", "0:0"].contains(user) && !user.hasPrefix("0:"))
        let health = runtime.instructions.filter { $0.keyword == "HEALTHCHECK" }.map(\.arguments)
        #expect(health.count == 1 && health[0].contains("/healthz"))
        let environment = runtime.instructions.filter { $0.keyword == "ENV" }.map(\.arguments).joined(separator: " ")
        // The binary binds loopback by default; a container must listen on every interface.
        #expect(environment.contains("VIGIL_METRICS_ADDRESS=0.0.0.0"))
        #expect(runtime.instructions.contains { $0.keyword == "EXPOSE" && $0.arguments == "9464" })
        // `vigil migrate` finds the migrations next to the binary (share/vigil/sql/migrations).
        #expect(runtime.instructions.contains { $0.keyword == "COPY" && $0.arguments == "sql/migrations /usr/local/share/vigil/sql/migrations" })
    }

    @Test func dockerignoreKeepsEveryCopiedPath() throws {
        // The ignore file excludes everything, then lets through what the Dockerfile copies.
        let allowed = try DeployFiles.text("deploy/docker/Dockerfile.dockerignore").split(separator: "\n")
            .filter { $0.hasPrefix("!") }.map { String($0.dropFirst()).trimmingCharacters(in: CharacterSet(charactersIn: "/")) }
        for instruction in try Self.instructions() where instruction.keyword == "COPY" && !instruction.arguments.hasPrefix("--from") {
            let words = instruction.arguments.split(separator: " ").map(String.init)
            for source in words.dropLast() {
                let path = source.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
                #expect(allowed.contains { path == $0 || path.hasPrefix($0 + "/") }, "COPY \(source) is excluded by the .dockerignore")
                #expect(FileManager.default.fileExists(atPath: DeployFiles.url(path).path), "COPY \(source) does not exist")
            }
        }
    }
}
