// `vigil replay`: a deterministic backtest of the engine over a file. The logic lives in
// VigilReplay; this parses options, shows progress, writes the files and the database row.
import ArgumentParser
import Foundation
import VigilService
import VigilReplay

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay events through the engine: prequential metrics, an HTML report, optionally a vigil.backtest_runs row.",
        discussion: """
            Each event is scored before its label is visible; labels arrive after --label-delay and feed the \
            extractor's label state and the online learner, which runs serve's schedule in event time: every \
            label is scored by the live model and the challenger, then learnt from; the challenger goes live \
            when the guard finds it not worse on that prequential record (reproducible for the same input). \
            Input: a JSONL or CSV file, or a Kafka topic range (--kafka-topic with --from/--to-offset or \
            --from/--to-time), replayed in event-time, partition, offset order. \
            Writes <out>/metrics.json (byte-identical for the same input, options and seed), <out>/timing.json \
            and <out>/report.html. --compare 'models=cae,freeze=true' replays a second configuration \
            (the first one with those settings changed) over the same input, side by side.
            """
    )

    @Argument(help: "Events file: JSONL (the event contract) or CSV (or use --kafka-topic).") var input: String?
    @Option(help: "Replay a range of this Kafka topic instead of a file (events in the event contract).") var kafkaTopic: String?
    @Option(help: "Kafka bootstrap servers, comma-separated (default: VIGIL_KAFKA_BROKERS).") var brokers: String?
    @Option(help: "Partitions of --kafka-topic to read, comma-separated (default: all).") var partitions: String?
    @Option(help: "First offset read in each partition (inclusive; default: the oldest).") var fromOffset: Int64?
    @Option(help: "Offset where each partition's range ends (exclusive; default: the log end).") var toOffset: Int64?
    @Option(help: "Only messages with a Kafka timestamp at or after this (RFC 3339 or epoch milliseconds).") var fromTime: String?
    @Option(help: "Only messages with a Kafka timestamp before this (RFC 3339 or epoch milliseconds).") var toTime: String?
    @Option(help: "Labels from this Kafka topic (read from its oldest offset to its end), instead of --labels.") var labelsTopic: String?
    @Option(help: "Labels file (vigil gen's labels.jsonl or labels.csv).") var labels: String?
    @Option(help: "Input format: jsonl or csv (default: from the extension).") var format: String?
    @Option(help: "CSV column mapping, e.g. 'id=none,time=Time,time_unit=s,label=Class,amount=Amount,card=none,features=*'.") var columns: String?
    @Option(help: "Malformed rows: skip (report them) or fail.") var onMalformed = "skip"
    @Option(help: "Feature spec JSON (default: the standard spec plus the CSV feature columns).") var spec: String?
    @Option(help: "Start from this saved model set instead of a cold start.") var model: String?
    @Option(help: "Write the model set live at the end here.") var saveModel: String?
    @Flag(help: "No training: the starting models score everything.") var freeze = false
    @Option(help: "Models behind the risk: cae, classifier or both.") var models = "both"
    @Option(help: "Label delay: N events, a duration of event time (72h, 30m, 90s, 2d) or 'recorded' (labels file times).") var labelDelay = "1000"
    @Option(help: "Learner settings as key=value pairs (\(OnlineTrainerConfiguration.replayableSettings.joined(separator: ", ")); default: serve's).") var trainer: String?
    @Option(help: "Events per scoring batch.") var batchSize = 256
    @Option(help: "Cold start: leading events the first model learns from (scored, not evaluated).") var warmUp = 2048
    @Option(help: "Seed of the models and the trainer.") var seed: UInt64 = 1
    @Option(help: "Alert budgets as shares of events, comma-separated.") var budgets = "0.001,0.005,0.01"
    @Option(help: "k of card precision@k per day.") var cardsPerDay = 100
    @Option(help: "Name of this run.") var name = "replay"
    @Option(help: "Output directory.") var out = "replay-out"
    @Option(help: "Also write every event's scores as CSV here (index, event id, event time, risk, anomaly score, classifier probability, model version, truth); with --compare, one file per run named FILE-<name>.") var scoresOut: String?
    @Option(help: "Metrics only from this event index or RFC 3339 event time on (the earlier events are still scored and learnt from).") var evaluateFrom: String?
    @Option(help: "A second configuration as key=value overrides (name, models, freeze, label_delay, seed, model, warm_up, batch_size, trainer.<setting>).") var compare: String?
    @Option(help: "Analysts' rules to decide with: a rules JSON file (docs/rules.md), or 'db' for the rules and lists in <schema>.rules (VIGIL_DATABASE_URL or PG* variables). Per-rule hits, precision and recall go to metrics.json and the report.") var rules: String?
    @Flag(help: "Record the run in <schema>.backtest_runs (VIGIL_DATABASE_URL or PG* variables).") var db = false
    @Option(help: "Schema for --db.") var schema = "vigil"
    @Flag(help: "No progress display.") var quiet = false

    func validate() throws {
        guard (input == nil) != (kafkaTopic == nil) else { throw ValidationError("give an events file or --kafka-topic (one of them)") }
        if kafkaTopic != nil {
            guard kafkaBrokers != nil else { throw ValidationError("--kafka-topic needs --brokers or VIGIL_KAFKA_BROKERS") }
            guard format == nil, columns == nil else { throw ValidationError("--format and --columns apply to files; Kafka messages are JSON events") }
        } else {
            guard partitions == nil, fromOffset == nil, toOffset == nil, fromTime == nil, toTime == nil else {
                throw ValidationError("--partitions, --from/--to-offset and --from/--to-time need --kafka-topic")
            }
        }
        guard labels == nil || labelsTopic == nil else { throw ValidationError("give --labels or --labels-topic, not both") }
        if labelsTopic != nil, kafkaBrokers == nil { throw ValidationError("--labels-topic needs --brokers or VIGIL_KAFKA_BROKERS") }
        guard (fromOffset == nil && toOffset == nil) || (fromTime == nil && toTime == nil) else {
            throw ValidationError("give a range in offsets or in times, not both")
        }
        if let fromOffset, fromOffset < 0 { throw ValidationError("--from-offset must not be negative") }
        if let toOffset, toOffset < (fromOffset ?? 0) { throw ValidationError("--to-offset must not be below --from-offset") }
        _ = try kafkaRange(topic: kafkaTopic ?? "")
        if let trainer {
            do { _ = try OnlineTrainerConfiguration().applying(settings: trainer) } catch let error as ReplayError {
                throw ValidationError("--trainer: \(error.explanation)")
            }
        }
        guard MalformedRowPolicy(rawValue: onMalformed) != nil else { throw ValidationError("--on-malformed must be skip or fail") }
        guard ReplayModels(rawValue: models) != nil else { throw ValidationError("--models must be cae, classifier or both") }
        if let evaluateFrom, EvaluationStart.parse(evaluateFrom) == nil {
            throw ValidationError("--evaluate-from must be an event index (≥ 0) or an RFC 3339 time")
        }
        guard LabelDelay.parse(labelDelay) != nil else { throw ValidationError("--label-delay must be N events (≥ 1), a duration like 72h, or 'recorded'") }
        if let format, ReplayInputReader.Format(rawValue: format) == nil { throw ValidationError("--format must be jsonl or csv") }
        guard batchSize > 0, warmUp >= 64, cardsPerDay > 0 else {
            throw ValidationError("--batch-size and --cards-per-day must be positive, --warm-up at least 64")
        }
        _ = try parsedBudgets()
        if db || rules == "db" { _ = try ReplayDatabase.checkedSchema(schema) }
    }

    var kafkaBrokers: [String]? {
        let text = brokers ?? ProcessInfo.processInfo.environment["VIGIL_KAFKA_BROKERS"] ?? ""
        let list = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return list.isEmpty ? nil : list
    }

    func kafkaRange(topic: String) throws -> KafkaTopicRange {
        func time(_ text: String?, _ flag: String) throws -> Int64? {
            guard let text else { return nil }
            if let ms = Int64(text), ms >= 0 { return ms }
            guard let ms = EventTimestamp.parseRFC3339(text) else { throw ValidationError("\(flag) must be RFC 3339 or epoch milliseconds") }
            return ms
        }
        var range = KafkaTopicRange(topic: topic, fromOffset: fromOffset, toOffset: toOffset,
                                    fromTimeMillis: try time(fromTime, "--from-time"), toTimeMillis: try time(toTime, "--to-time"))
        if let partitions {
            let list = partitions.split(separator: ",").map { Int32($0.trimmingCharacters(in: .whitespaces)) }
            guard !list.isEmpty, list.allSatisfy({ $0 != nil && $0! >= 0 }) else { throw ValidationError("--partitions must be partition numbers, e.g. 0,1,2") }
            range.partitions = Array(Set(list.map { $0! })).sorted()
        }
        if let a = range.fromTimeMillis, let b = range.toTimeMillis, b < a { throw ValidationError("--to-time must not be before --from-time") }
        return range
    }

    /// Events (and labels) from the file or the topic range; malformed rows or messages listed on stderr.
    func readInput(_ reader: ReplayInputReader) async throws -> ReplayInput {
        var data: ReplayInput
        if let input {
            let (format, labels) = (format.flatMap(ReplayInputReader.Format.init(rawValue:)), labels)
            data = try await onOwnThread(name: "vigil-replay-read") { try reader.read(events: input, format: format, labels: labels) }
        } else {
            data = ReplayInput()
            var positions: [MessagePosition] = []
            try await KafkaRangeReader.read(try kafkaRange(topic: kafkaTopic!), brokers: kafkaBrokers!, labels: false, reader: reader,
                                            into: &data, positions: &positions)
            data.sortByEventTime(positions: positions)
            if !quiet { FileHandle.standardError.write(Data("read \(data.events.count) events from \(sourceName)\n".utf8)) }
            if let labels { try reader.read(labels: labels, into: &data) }
        }
        if let labelsTopic {
            var none: [MessagePosition] = []
            let before = data.labels.count
            try await KafkaRangeReader.read(KafkaTopicRange(topic: labelsTopic), brokers: kafkaBrokers!, labels: true, reader: reader,
                                            into: &data, positions: &none)
            if !quiet { FileHandle.standardError.write(Data("read \(data.labels.count - before) labels from kafka:\(labelsTopic)\n".utf8)) }
        }
        return data
    }

    /// The input's name for the record.
    var sourceName: String {
        if let input { return input }
        var text = "kafka:\(kafkaTopic!)"
        if let partitions { text += "[\(partitions)]" }
        if fromOffset != nil || toOffset != nil { text += "@\(fromOffset.map(String.init) ?? "")..<\(toOffset.map(String.init) ?? "")" }
        if fromTime != nil || toTime != nil { text += "@\(fromTime ?? "")..<\(toTime ?? "")" }
        return text
    }

    func parsedBudgets() throws -> [Double] {
        let values = budgets.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0! > 0 && $0! <= 1 }) else {
            throw ValidationError("--budgets must be shares in (0, 1], e.g. 0.001,0.005,0.01")
        }
        return values.map { $0! }
    }

    func run() async throws {
        do {
            try await replay()
        } catch let error as ReplayError {
            FileHandle.standardError.write(Data("vigil replay: \(error)\n".utf8))
            throw ExitCode(error.code == .malformedInput || error.code == .invalidConfiguration ? 2 : 1)
        }
    }

    func replay() async throws {
        var reader = ReplayInputReader(mapping: try columns.map { try CSVColumnMapping.parse($0) } ?? CSVColumnMapping(),
                                       onMalformed: MalformedRowPolicy(rawValue: onMalformed)!)
        reader.defaultCurrency = "EUR"
        var data = try await readInput(reader)
        for p in data.problems.prefix(20) { FileHandle.standardError.write(Data("skipped \(p)\n".utf8)) }
        if data.problems.count > 20 { FileHandle.standardError.write(Data("... \(data.problems.count) malformed rows skipped in all\n".utf8)) }
        data.resolveTruthFromLabels()

        var base = ReplayConfiguration()
        base.name = name
        base.models = ReplayModels(rawValue: models)!
        base.freeze = freeze
        base.labelDelay = LabelDelay.parse(labelDelay)!
        if let trainer { base.trainer = try base.trainer.applying(settings: trainer) }
        base.batchSize = batchSize
        base.warmUpEvents = warmUp
        base.seed = seed
        base.alertBudgets = try parsedBudgets()
        base.cardsPerDay = cardsPerDay
        base.evaluateFrom = evaluateFrom.flatMap(EvaluationStart.parse)
        if let spec {
            do { base.featureSpec = try FeatureSpec.load(path: spec) } catch { throw ValidationError("--spec: \(error)") }
        } else {
            base.featureSpec = ReplayConfiguration.spec(for: data)
        }
        if let model { try load(model: model, into: &base) }
        if let rules {
            let file = try await RulesSource.load(rules, schema: schema)
            base.rules = file.rules
            base.ruleLists = file.lists
        }
        var configurations = [base]
        if let compare { configurations.append(try overridden(base, with: compare)) }

        var runs: [(metrics: ReplayMetrics, timing: ReplayTiming?)] = []
        var lastResult: ReplayResult?
        for c in configurations {
            let progress = ReplayProgress(total: data.events.count, name: c.name, enabled: !quiet)
            let events = data
            let result = try await onOwnThread(name: "vigil-replay") { try ReplayRunner.run(events, configuration: c, progress: progress.update) }
            progress.finish()
            runs.append((result.metrics, result.timing))
            lastResult = lastResult ?? result
            if let scoresOut {
                let path = configurations.count == 1 ? scoresOut : Self.path(scoresOut, suffixed: c.name)
                try ScoresCSV.write(result, input: data, to: path)
                if !quiet { FileHandle.standardError.write(Data("wrote \(path)\n".utf8)) }
            }
            print(#"{"name":"\#(c.name)","events":\#(result.metrics.events),"auprc":\#(result.metrics.auprc.map { "\($0)" } ?? "null"),"roc_auc":\#(result.metrics.rocAUC.map { "\($0)" } ?? "null"),"events_per_second":\#(Int(result.timing.eventsPerSecond)),"final_model_version":\#(result.metrics.finalModelVersion)}"#)
        }
        try write(runs)
        if let saveModel, let lastResult {
            do { try Data(lastResult.finalModel.encoded()).write(to: URL(fileURLWithPath: saveModel)) } catch {
                throw ReplayError(.io, "cannot write \(saveModel): \(error.localizedDescription)")
            }
        }
        if db {
            for (i, run) in runs.enumerated() {
                let id = try await ReplayDatabase.record(run.metrics, timing: run.timing, source: sourceName, schema: schema,
                                                         modelVersion: configurations[i].initialModel == nil ? nil : run.metrics.finalModelVersion)
                print("recorded \(schema).backtest_runs run_id \(id) (\(run.metrics.name))")
            }
        }
    }

    /// `scores.csv` + `frozen` → `scores-frozen.csv`.
    static func path(_ path: String, suffixed name: String) -> String {
        let ext = (path as NSString).pathExtension
        let stem = ext.isEmpty ? path : String(path.dropLast(ext.count + 1))
        return stem + "-" + name + (ext.isEmpty ? "" : "." + ext)
    }

    func load(model path: String, into c: inout ReplayConfiguration) throws {
        guard let bytes = FileManager.default.contents(atPath: path) else { throw ReplayError(.io, "cannot read the model file \(path)") }
        c.initialModel = [UInt8](bytes)
        c.initialModelSource = (path as NSString).lastPathComponent
    }

    func overridden(_ base: ReplayConfiguration, with text: String) throws -> ReplayConfiguration {
        var c = try base.applying(overrides: text)
        switch ReplayConfiguration.modelOverride(in: text) {
        case nil: break
        case "none"?:
            c.initialModel = nil
            c.initialModelSource = "cold start"
        case let path?: try load(model: path, into: &c)
        }
        return c
    }

    func write(_ runs: [(metrics: ReplayMetrics, timing: ReplayTiming?)]) throws {
        do {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            if runs.count == 1 {
                try runs[0].metrics.encodedJSON().write(to: URL(fileURLWithPath: "\(out)/metrics.json"))
            } else {
                for run in runs { try run.metrics.encodedJSON().write(to: URL(fileURLWithPath: "\(out)/metrics-\(run.metrics.name).json")) }
            }
            try encoder.encode(Dictionary(runs.map { ($0.metrics.name, $0.timing) }, uniquingKeysWith: { a, _ in a }))
                .write(to: URL(fileURLWithPath: "\(out)/timing.json"))
            try Data(HTMLReport.render(runs).utf8).write(to: URL(fileURLWithPath: "\(out)/report.html"))
        } catch {
            throw ReplayError(.io, "cannot write results to \(out): \(error.localizedDescription)")
        }
        if !quiet { FileHandle.standardError.write(Data("wrote \(out)/metrics\(runs.count == 1 ? "" : "-*").json, timing.json, report.html\n".utf8)) }
    }
}
