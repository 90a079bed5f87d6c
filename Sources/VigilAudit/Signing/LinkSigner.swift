// Signed links: with a key file (`audit.signing_key_file`) the sink signs every link's hash,
// so the service's database role alone cannot write a consistent forged chain. HMAC-SHA-256
// (shared secret: verify needs the same file) or Ed25519 (verify needs only the public key).
// Key files hold one line `<algorithm>:<base64>`; swift-crypto does the cryptography.
import Crypto
import Foundation

/// The algorithms a link can be signed with.
public enum SigningAlgorithm: String, Sendable, CaseIterable {
    case hmacSHA256 = "hmac-sha256"
    case ed25519 = "ed25519"
}

/// Signs link hashes with the private half of a key file.
public struct LinkSigner: Sendable {
    public let algorithm: SigningAlgorithm
    /// Stored with each link: which key signed it (`<algorithm>:<16 hex digits>`).
    public let keyID: String
    private let key: Key

    private enum Key: Sendable {
        case hmac(SymmetricKey)
        case ed25519(Curve25519.Signing.PrivateKey)
    }

    /// Reads `hmac-sha256:<base64, at least 32 bytes>` or `ed25519:<base64 32-byte private key>`.
    public init(keyFile path: String) throws {
        let (algorithm, bytes) = try KeyFile.read(path)
        try self.init(algorithm: algorithm, secret: bytes)
    }

    public init(algorithm: SigningAlgorithm, secret bytes: [UInt8]) throws {
        self.algorithm = algorithm
        switch algorithm {
        case .hmacSHA256:
            guard bytes.count >= 32 else { throw AuditError(.invalidKey, "an hmac-sha256 key needs at least 32 bytes, got \(bytes.count)") }
            key = .hmac(SymmetricKey(data: bytes))
            keyID = KeyFile.keyID(.hmacSHA256, identifying: bytes)
        case .ed25519:
            do {
                let privateKey = try Curve25519.Signing.PrivateKey(rawRepresentation: bytes)
                key = .ed25519(privateKey)
                keyID = KeyFile.keyID(.ed25519, identifying: Array(privateKey.publicKey.rawRepresentation))
            } catch {
                throw AuditError(.invalidKey, "an ed25519 private key is 32 bytes, got \(bytes.count)")
            }
        }
    }

    public func sign(_ linkHash: [UInt8]) throws -> [UInt8] {
        switch key {
        case .hmac(let k): return Array(HMAC<SHA256>.authenticationCode(for: linkHash, using: k))
        case .ed25519(let k):
            do { return Array(try k.signature(for: linkHash)) } catch {
                throw AuditError(.invalidKey, "ed25519 signing failed")
            }
        }
    }

    /// The key verify needs: the same secret for HMAC, the public key for Ed25519.
    public var verificationKey: LinkVerificationKey {
        switch key {
        case .hmac(let k): LinkVerificationKey(keyID: keyID, check: .hmac(k))
        case .ed25519(let k): LinkVerificationKey(keyID: keyID, check: .ed25519(k.publicKey))
        }
    }

    /// A new key file's text: `<algorithm>:<base64>` and, for Ed25519, the public key's line
    /// (`ed25519-public:<base64>`) for the verifiers.
    public static func generate(_ algorithm: SigningAlgorithm) -> (secret: String, publicKey: String?) {
        switch algorithm {
        case .hmacSHA256:
            // The system generator reads the kernel's random source (getrandom).
            var random = SystemRandomNumberGenerator()
            let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &random) }
            return ("hmac-sha256:" + Data(bytes).base64EncodedString(), nil)
        case .ed25519:
            let key = Curve25519.Signing.PrivateKey()
            return ("ed25519:" + key.rawRepresentation.base64EncodedString(),
                    "ed25519-public:" + key.publicKey.rawRepresentation.base64EncodedString())
        }
    }
}

/// Checks link signatures: from an HMAC key file, an Ed25519 private key file or an
/// Ed25519 public key file (`ed25519-public:<base64 32 bytes>`).
public struct LinkVerificationKey: Sendable {
    public let keyID: String
    fileprivate let check: Check

    fileprivate enum Check: Sendable {
        case hmac(SymmetricKey)
        case ed25519(Curve25519.Signing.PublicKey)
    }

    public init(keyFile path: String) throws {
        let (algorithm, bytes, isPublic) = try KeyFile.readAny(path)
        if isPublic {
            guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: bytes) else {
                throw AuditError(.invalidKey, "an ed25519 public key is 32 bytes, got \(bytes.count)")
            }
            self.init(keyID: KeyFile.keyID(.ed25519, identifying: bytes), check: .ed25519(key))
        } else {
            self = try LinkSigner(algorithm: algorithm, secret: bytes).verificationKey
        }
    }

    fileprivate init(keyID: String, check: Check) {
        self.keyID = keyID
        self.check = check
    }

    public func isValid(_ signature: [UInt8], for linkHash: [UInt8]) -> Bool {
        switch check {
        case .hmac(let k): return HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: linkHash, using: k)
        case .ed25519(let k): return k.isValidSignature(signature, for: linkHash)
        }
    }
}

enum KeyFile {
    static func read(_ path: String) throws -> (SigningAlgorithm, [UInt8]) {
        let (algorithm, bytes, isPublic) = try readAny(path)
        guard !isPublic else { throw AuditError(.invalidKey, "\(path) holds a public key; signing needs the private key") }
        return (algorithm, bytes)
    }

    /// (algorithm, key bytes, whether it is an Ed25519 public key).
    static func readAny(_ path: String) throws -> (SigningAlgorithm, [UInt8], Bool) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AuditError(.invalidKey, "cannot read the key file \(path)")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let colon = text.firstIndex(of: ":") else {
            throw AuditError(.invalidKey, "\(path): expected '<algorithm>:<base64>' (hmac-sha256, ed25519 or ed25519-public)")
        }
        let name = String(text[..<colon])
        guard let bytes = Data(base64Encoded: String(text[text.index(after: colon)...])).map(Array.init) else {
            throw AuditError(.invalidKey, "\(path): the key is not valid base64")
        }
        if name == "ed25519-public" { return (.ed25519, bytes, true) }
        guard let algorithm = SigningAlgorithm(rawValue: name) else {
            throw AuditError(.invalidKey, "\(path): unknown algorithm '\(name)' (hmac-sha256, ed25519 or ed25519-public)")
        }
        return (algorithm, bytes, false)
    }

    /// A key's public name: the algorithm and the first 8 bytes of SHA-256 over the public key
    /// (Ed25519) or over a fixed label and the secret (HMAC), which reveals nothing of it.
    static func keyID(_ algorithm: SigningAlgorithm, identifying bytes: [UInt8]) -> String {
        var hasher = SHA256()
        if algorithm == .hmacSHA256 { hasher.update(data: Array("vigil audit hmac key id".utf8)) }
        hasher.update(data: bytes)
        return algorithm.rawValue + ":" + hexString(Array(hasher.finalize()).prefix(8))
    }
}
