// `vigil replay --scores-out`: every event's scores as CSV, for analysis outside Vigil.
import Foundation
import VigilFeatures

/// One row per replayed event, in input order: `index,event_id,event_time,risk,anomaly_score,
/// fraud_probability,model_version,truth` (truth 1, 0 or empty when unknown). Numbers are
/// written in their shortest exact form, so the file reproduces metrics.json's figures.
public enum ScoresCSV {
    public static let header = "index,event_id,event_time,risk,anomaly_score,fraud_probability,model_version,truth"

    public static func write(_ result: ReplayResult, input: ReplayInput, to path: String) throws {
        // The file may go inside --out, which is created only when the results are written.
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: nil), let file = FileHandle(forWritingAtPath: path) else {
            throw ReplayError(.io, "cannot write scores to \(path)")
        }
        defer { try? file.close() }
        var text = header + "\n"
        text.reserveCapacity(1 << 20)
        do {
            for (i, event) in input.events.enumerated() {
                text += "\(i),\(field(event.eventID)),\(EventTimestamp.formatRFC3339(event.timestampMillis)),"
                text += "\(result.risks[i]),\(result.anomalyScores[i]),\(result.fraudProbabilities[i]),\(result.modelVersions[i]),"
                switch input.truth[i] {
                case .fraud: text += "1\n"
                case .legit: text += "0\n"
                case .unknown: text += "\n"
                }
                if text.utf8.count >= 1 << 20 {
                    try file.write(contentsOf: Data(text.utf8))
                    text.removeAll(keepingCapacity: true)
                }
            }
            try file.write(contentsOf: Data(text.utf8))
        } catch {
            throw ReplayError(.io, "cannot write scores to \(path): \(error.localizedDescription)")
        }
    }

    /// RFC 4180 quoting when the id holds a comma, quote or line break.
    static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
