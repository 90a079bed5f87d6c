// `vigil models compress VERSION --int8|--distil --data FILE`: stores a compressed form of a
// stored version as a new version (not live), measured against it on recent traffic.
import ArgumentParser
import Foundation
import VigilReplay
import VigilService

extension ModelsCommand {
    struct Compress: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store a compressed form of VERSION (INT8, or a distilled student) as a new version (parent VERSION, not live).",
            discussion: """
                --int8: both models frozen as INT8 (Int8 weights per output channel, Int32 accumulation), their \
                activation codes calibrated on recent traffic. The events of --data (a recorded stream in a format \
                replay reads) go through replay's feature extraction in order; the last --hold-back share is held \
                back, the --calibration-events events just before it calibrate, and both versions score the \
                held-back events: the new version's metrics say how they compare (probability agreement and \
                differences, average precision, log-loss, weight bytes, events/s). Promote it like any other \
                version; it keeps learning in Float32 and is re-frozen as INT8 at every publication.
                --distil: the autoencoder stays; the classifier is replaced by a student (--student-widths, default 16) \
                trained on the events before the held-back share towards half the parent's fraud probability and half \
                the label (the parent's probability alone where the truth is unknown), then compared the same way.
                Either way the new version then goes through the promotion guard against its parent on the held-back \
                events, as the trainer's challenger does on its window (average precision of the risk within the \
                window's noise, given --guard-min-frauds held-back frauds; else, for INT8 only, the autoencoders' reconstruction \
                error while the parent's classifier has not learnt). A version the guard rejects is not stored \
                (exit 65) unless --override-guard; a stored version keeps the verdict in its metrics.
                """)
        @OptionGroup var connection: Connection
        @Argument(help: "The stored version to compress.") var version: Int64
        @Flag(help: "Quantise both models to INT8.") var int8 = false
        @Flag(help: "Replace the classifier by a smaller student taught by it (and the labels).") var distil = false
        @Option(help: "--distil: hidden widths of the student, comma-separated.") var studentWidths = "16"
        @Option(help: "--distil: passes over the training part of the data.") var studentEpochs = 6
        @Flag(help: "--distil: a student without the hashed categorical inputs (no embedding table).") var studentWithoutSparse = false
        @Option(help: "Recorded events: JSONL (the event contract) or CSV.") var data: String
        @Option(help: "Labels file (vigil gen's labels.jsonl or labels.csv) for the held-back comparison.") var labels: String?
        @Option(help: "Input format: jsonl or csv (default: from the extension).") var format: String?
        @Option(help: "CSV column mapping, as for replay.") var columns: String?
        @Option(help: "Feature spec JSON the version was trained on (default: the shipped spec with its hash).") var spec: String?
        @Option(help: "Events the activation codes are calibrated on.") var calibrationEvents = 2048
        @Option(help: "Share of the events, at the end, held back for the comparison.") var holdBack = 0.25
        @Option(help: "Label delay while extracting features, as for replay.") var labelDelay = "1000"
        @Option(help: "Note stored with the new version.") var note: String?
        @Option(help: "Also write the new model set here (for replay --model).") var saveModel: String?
        @Option(help: "Held-back frauds the guard needs to judge by average precision (as serve's training_guard_min_frauds).")
        var guardMinFrauds = OnlineTrainerConfiguration().guardMinimumFrauds
        @Flag(help: "Store the new version even if the promotion guard rejects it (the verdict stored with it says so).")
        var overrideGuard = false

        func validate() throws {
            guard int8 != distil else { throw ValidationError("say how to compress: --int8 or --distil") }
            guard studentWidthList != nil, studentEpochs > 0 else { throw ValidationError("--student-widths: positive integers, comma-separated; --student-epochs > 0") }
            guard calibrationEvents > 0 else { throw ValidationError("--calibration-events must be positive") }
            guard guardMinFrauds >= 1 else { throw ValidationError("--guard-min-frauds must be at least 1") }
            guard holdBack > 0, holdBack < 1 else { throw ValidationError("--hold-back must be between 0 and 1") }
            guard LabelDelay.parse(labelDelay) != nil else { throw ValidationError("--label-delay: N events, a duration or 'recorded'") }
            if let format, ReplayInputReader.Format(rawValue: format) == nil { throw ValidationError("--format must be jsonl or csv") }
        }

        func run() async throws {
            try await ModelsCommand.guarded {
                let catalog = try connection.catalog()
                guard let parent = try await ModelStore(connection: catalog.connection, schema: catalog.schema).load(version: version) else {
                    throw ServiceError(.modelUnavailable, "model version \(version) is not in \(catalog.schema).models")
                }
                let traffic = try extract(for: parent)
                let next = (try await catalog.list().map(\.version).max() ?? 0) + 1
                let set: ModelSet
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                var judged = CompressionGuardSettings()
                judged.trainer.guardMinimumFrauds = guardMinFrauds
                judged.override = overrideGuard
                do {
                    if distil {
                        var options = DistillationOptions()
                        options.hiddenWidths = studentWidthList!
                        options.epochs = studentEpochs
                        options.usesSparseInputs = !studentWithoutSparse
                        set = try ModelCompression.distil(parent, data: traffic, options: options, holdBack: holdBack, guardSettings: judged,
                                                          version: next, createdAtMillis: now)
                    } else {
                        set = try ModelCompression.int8(parent, data: traffic, calibrationEvents: calibrationEvents, holdBack: holdBack,
                                                        guardSettings: judged, version: next, createdAtMillis: now)
                    }
                } catch let error as EngineError where error.code == .guardRejected {
                    throw ServiceError(.modelUnavailable, "not stored: \(error.message) (--override-guard stores it anyway)")
                } catch let error as EngineError {
                    throw ServiceError(.modelUnavailable, error.message)
                }
                let method = distil ? "student \(studentWidthList!) distilled from" : "int8 of"
                try await catalog.store(set, note: note ?? "\(method) version \(version)")
                if let saveModel {
                    do { try Data(set.encoded()).write(to: URL(fileURLWithPath: saveModel)) } catch {
                        throw ServiceError(.invalidConfiguration, "cannot write \(saveModel): \(error)")
                    }
                }
                print("stored version \(next) (\(method) version \(version), not live; promote it with `vigil models promote \(next)`)")
                if let c = set.metrics.compression { print(Self.summary(c)) }
                await catalog.connection.close()
            }
        }

        var studentWidthList: [Int]? {
            let widths = studentWidths.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !widths.isEmpty, widths.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
            return widths.map { $0! }
        }

        /// The data file's events through replay's feature extraction, in stream order.
        func extract(for parent: ModelSet) throws -> CompressionData {
            var reader = ReplayInputReader(mapping: try columns.map { try CSVColumnMapping.parse($0) } ?? CSVColumnMapping())
            reader.defaultCurrency = "EUR"
            var input: ReplayInput
            do { input = try reader.read(events: data, format: format.flatMap(ReplayInputReader.Format.init(rawValue:)), labels: labels) } catch {
                throw ServiceError(.invalidConfiguration, "\(data): \(error)")
            }
            input.resolveTruthFromLabels()
            var configuration = ReplayConfiguration()
            configuration.labelDelay = LabelDelay.parse(labelDelay)!
            if let spec {
                do { configuration.featureSpec = try FeatureSpec.load(path: spec) } catch {
                    throw ServiceError(.invalidConfiguration, "--spec \(spec): \(error)")
                }
            } else {
                let candidates = FeatureSpec.shipped + [ReplayConfiguration.spec(for: input)]
                guard let match = candidates.first(where: { $0.specHash == parent.featureSpecHash }) else {
                    throw ServiceError(.invalidConfiguration, "version \(version) was trained on feature spec \(String(parent.featureSpecHash, radix: 16)), "
                                       + "not a shipped one: pass it with --spec FILE")
                }
                configuration.featureSpec = match
            }
            guard configuration.featureSpec.specHash == parent.featureSpecHash else {
                throw ServiceError(.invalidConfiguration, "version \(version) was trained on feature spec \(String(parent.featureSpecHash, radix: 16)), --spec is \(String(configuration.featureSpec.specHash, radix: 16))")
            }
            var traffic: CompressionData?
            do {
                try ReplayFeatureStream.forEach(input, configuration: configuration) { batch in
                    if traffic == nil { traffic = CompressionData(featureWidth: batch.featureWidth, sparseWidth: batch.sparseWidth) }
                    let truth: [Bool?] = batch.range.map { i in
                        switch input.truth[i] {
                        case .fraud: true
                        case .legit: false
                        case .unknown: nil
                        }
                    }
                    traffic!.append(features: batch.features[...], sparse: batch.sparse[...], truth: truth)
                }
            } catch {
                throw ServiceError(.invalidConfiguration, "\(data): \(error)")
            }
            return traffic!
        }

        static func summary(_ c: CompressionMetrics) -> String {
            func f(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "n/a" }
            return """
                \(c.method == "distil" ? "taught on" : "calibrated on") \(c.calibrationEvents) events; compared on the last \(c.heldBackEvents) (\(c.heldBackLabels) labelled, \(c.heldBackFrauds) fraud):
                  agreement at p = 0.5: \(f(c.agreement)); |Δ probability| max \(f(c.maxProbabilityDifference)), mean \(f(c.meanProbabilityDifference)); |Δ anomaly| max \(f(c.maxAnomalyDifference))
                  average precision \(f(c.averagePrecision)) (parent \(f(c.parentAveragePrecision))); log-loss \(f(c.logLoss)) (parent \(f(c.parentLogLoss)))
                  weight bytes \(c.weightBytes) (parent \(c.parentWeightBytes)); \(Int(c.eventsPerSecond)) events/s batched (parent \(Int(c.parentEventsPerSecond)))
                """ + (c.verdict.map { "\n  guard: \($0.summary)" + ($0.overridden ? " (stored by --override-guard)" : "") } ?? "")
        }
    }
}
