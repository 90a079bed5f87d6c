// The stored form of a model set (the `weights` blob of vigil.models): a small header, the
// guard's metrics, then VigilML's two model files (each with its own SHA-256), then one
// SHA-256 over everything before it. Any altered or truncated byte is caught before decoding.
import Foundation
import VigilML

/// Layout (little-endian): "VGMS" | format u16 | version i64 | parent i64 (Int64.min = none) |
/// created-at ms i64 | feature-spec hash u64 | autoencoder precision u8 | classifier precision u8 |
/// metrics JSON length u32 + bytes | autoencoder file length u64 + bytes |
/// classifier file length u64 + bytes | [format 2: INT8 calibration events] | SHA-256 (32) of
/// all preceding bytes.
///
/// Format 2 adds the architecture's `int8Calibration`: event count u32 | feature width u32 |
/// count × width Float32 bits (u32 each) | sparse flag u8 | [offset count u32 + i32 offsets |
/// index count u32 + i32 indices]. A set without it is written as format 1, byte for byte as
/// before, so stored sets keep their checksums and older builds still read them; format 1
/// sets decode here unchanged.
enum ModelSetCoding {
    static let magic: [UInt8] = Array("VGMS".utf8)
    static let formatVersion: UInt16 = 1
    /// The format of a set with INT8 calibration events.
    static let int8FormatVersion: UInt16 = 2

    static func body(version: Int64, parent: Int64?, createdAtMillis: Int64, featureSpecHash: UInt64,
                     architecture: ModelArchitecture, autoencoder: ContrastiveAutoencoder, classifier: SparseClassifier,
                     metrics: ModelMetrics) -> [UInt8] {
        var out = BinaryWriter(bytes: magic)
        out.u16(architecture.int8Calibration == nil ? formatVersion : int8FormatVersion)
        out.i64(version)
        out.i64(parent ?? .min)
        out.i64(createdAtMillis)
        out.u64(featureSpecHash)
        out.u8(architecture.autoencoderPrecision.rawValue)
        out.u8(architecture.classifierPrecision.rawValue)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = (try? encoder.encode(metrics)).map(Array.init) ?? Array("{}".utf8)
        out.u32(UInt32(json.count))
        out.bytes += json
        // Model files carry their own timestamp; pin it to the set's so encoding is deterministic.
        let created = Date(timeIntervalSince1970: Double(createdAtMillis) / 1000)
        let cae = ModelFile.encode(autoencoder, featureSpecHash: featureSpecHash, createdAt: created)
        out.u64(UInt64(cae.count))
        out.bytes += cae
        let cls = ModelFile.encode(classifier, featureSpecHash: featureSpecHash, createdAt: created)
        out.u64(UInt64(cls.count))
        out.bytes += cls
        if let events = architecture.int8Calibration {
            out.u32(UInt32(events.count))
            out.u32(UInt32(events.featureWidth))
            for v in events.features { out.f32(v) }
            out.u8(events.sparse == nil ? 0 : 1)
            if let sparse = events.sparse {
                out.u32(UInt32(sparse.offsets.count))
                for o in sparse.offsets { out.i32(o) }
                out.u32(UInt32(sparse.indices.count))
                for i in sparse.indices { out.i32(i) }
            }
        }
        return out.bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> ModelSet {
        guard bytes.count >= magic.count + 32 else { throw EngineError(.corruptModelSet, "model set is \(bytes.count) bytes, too short") }
        guard Array(bytes[0..<4]) == magic else { throw EngineError(.corruptModelSet, "not a Vigil model set (bad magic)") }
        let body = bytes[..<(bytes.count - 32)]
        guard SHA256.hash(body) == Array(bytes[(bytes.count - 32)...]) else {
            throw EngineError(.corruptModelSet, "model set checksum does not match its contents")
        }
        var r = BinaryReader(Array(body), offset: magic.count)
        let version: Int64, rawParent: Int64, created: Int64, specHash: UInt64, format: UInt16
        let metrics: ModelMetrics, caeBytes: [UInt8], clsBytes: [UInt8], caePrecision: WeightPrecision, clsPrecision: WeightPrecision
        var calibration: CalibrationEvents?
        do {
            format = try r.u16()
            guard format == formatVersion || format == int8FormatVersion else {
                throw EngineError(.corruptModelSet, "model set format \(format); this build reads \(formatVersion) and \(int8FormatVersion)")
            }
            version = try r.i64()
            rawParent = try r.i64()
            created = try r.i64()
            specHash = try r.u64()
            guard let cae = WeightPrecision(rawValue: try r.u8()), let cls = WeightPrecision(rawValue: try r.u8()) else {
                throw EngineError(.corruptModelSet, "unknown weight precision")
            }
            (caePrecision, clsPrecision) = (cae, cls)
            let json = try r.take(Int(try r.u32()))
            do { metrics = try JSONDecoder().decode(ModelMetrics.self, from: Data(json)) } catch {
                throw EngineError.wrapping(error, "model set metrics")
            }
            caeBytes = Array(try r.take(Int(clamping: try r.u64())))
            clsBytes = Array(try r.take(Int(clamping: try r.u64())))
            if format == int8FormatVersion {
                let count = Int(try r.u32()), width = Int(try r.u32())
                guard count > 0, width > 0, count.multipliedReportingOverflow(by: width * 4).partialValue <= r.remaining else {
                    throw EngineError(.corruptModelSet, "INT8 calibration of \(count) × \(width) values does not fit the model set")
                }
                let features = try (0..<(count * width)).map { _ in try r.f32() }
                guard features.allSatisfy(\.isFinite) else { throw EngineError(.corruptModelSet, "non-finite INT8 calibration value") }
                var sparse: SparseBatch?
                if try r.u8() != 0 {
                    func int32s() throws -> [Int32] {
                        let n = Int(try r.u32())
                        guard n * 4 <= r.remaining else { throw EngineError(.corruptModelSet, "model set truncated at byte \(r.offset)") }
                        return try (0..<n).map { _ in try r.i32() }
                    }
                    sparse = SparseBatch(offsets: try int32s(), indices: try int32s())
                }
                calibration = try CalibrationEvents(features: features, featureWidth: width, sparse: sparse)
            }
        } catch let error as MLError where error.code == .truncatedFile {
            throw EngineError(.corruptModelSet, "model set truncated at byte \(r.offset)", underlying: error)
        }
        let offset = r.offset
        guard offset == body.count else { throw EngineError(.corruptModelSet, "\(body.count - offset) unexpected bytes in model set") }
        do {
            let (autoencoder, caeHeader) = try ModelFile.decodeAutoencoder(caeBytes)
            let (classifier, clsHeader) = try ModelFile.decodeClassifier(clsBytes)
            guard caeHeader.featureSpecHash == specHash, clsHeader.featureSpecHash == specHash else {
                throw EngineError(.featureSpecMismatch, "model files were trained on another feature spec than the set says")
            }
            var architecture = ModelArchitecture(autoencoder: autoencoder.configuration, classifier: classifier.configuration,
                                                 autoencoderPrecision: caePrecision, classifierPrecision: clsPrecision)
            if let calibration {
                guard calibration.featureWidth == autoencoder.configuration.inputWidth else {
                    throw EngineError(.corruptModelSet, "INT8 calibration rows have \(calibration.featureWidth) features, the models \(autoencoder.configuration.inputWidth)")
                }
                if let sparse = calibration.sparse { try sparse.validate(count: calibration.count, buckets: max(classifier.configuration.hashBuckets, 1)) }
                architecture.int8Calibration = calibration
            }
            let set = try ModelSet(version: version, parent: rawParent == .min ? nil : rawParent, createdAtMillis: created,
                                   featureSpecHash: specHash, architecture: architecture,
                                   autoencoder: autoencoder, classifier: classifier, metrics: metrics)
            // The checksum is the stored bytes' (verified above), not a re-encoding's: a set an
            // earlier release stored (other metrics fields, say) re-encodes to other bytes.
            set.rememberChecksum(SHA256.hex(Array(bytes[(bytes.count - 32)...])))
            return set
        } catch {
            throw EngineError.wrapping(error, "model set \(version) does not decode")
        }
    }
}

extension ModelSet {
    /// The stored form: what goes into vigil.models' `weights`. Deterministic: the same set
    /// always encodes to the same bytes, and `checksum` is the hex SHA-256 of all but the
    /// last 32 bytes (which hold that digest).
    public func encoded() -> [UInt8] {
        let body = ModelSetCoding.body(version: version, parent: parent, createdAtMillis: createdAtMillis,
                                       featureSpecHash: featureSpecHash, architecture: architecture,
                                       autoencoder: autoencoder, classifier: classifier, metrics: metrics)
        let digest = SHA256.hash(body)
        rememberChecksum(SHA256.hex(digest))
        return body + digest
    }

    /// Decodes and verifies bytes made by `encoded()`.
    public static func decode(_ bytes: [UInt8]) throws -> ModelSet { try ModelSetCoding.decode(bytes) }
}

extension ModelArchitecture {
    /// The architecture a decoded pair of models was built with.
    init(autoencoder a: ContrastiveAutoencoder.Configuration, classifier c: SparseClassifier.Configuration,
         autoencoderPrecision: WeightPrecision, classifierPrecision: WeightPrecision) {
        self.init()
        encoderWidths = a.encoderWidths
        embeddingWidth = a.embeddingWidth
        decoderWidths = a.decoderWidths
        autoencoderLearningRate = a.optimizer.learningRate
        classifierHiddenWidths = c.hiddenWidths
        bagWidth = c.bagWidth
        classifierUsesAnomalyInputs = c.denseWidth != a.inputWidth
        classifierUsesSparseInputs = c.hashBuckets > 0
        sparsity = c.sparsity
        classifierLearningRate = c.optimizer.learningRate
        self.autoencoderPrecision = autoencoderPrecision
        self.classifierPrecision = classifierPrecision
        seed = a.seed
    }
}
