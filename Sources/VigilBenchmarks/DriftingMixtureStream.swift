// A labelled stream whose signal lives only in anonymous numeric columns, with concept drift:
// the shape of public card datasets released as PCA components (Time, V1..Vn, Amount, Class),
// generated so the benchmark needs no download. Legitimate traffic is a fixed Gaussian
// mixture; each fraud cluster sits beside a legitimate one, offset along a few components,
// and the offset moves from one set of components to another over the stream.
import Foundation
import VigilML

struct DriftingMixtureStream {
    var rows = 300_000
    var components = 20
    var legitClusters = 4
    var fraudClusters = 2
    /// Share of fraud rows. Default: 0.2%.
    var fraudRate = 0.002
    /// Components a fraud cluster's offset uses, at the start and (others) at the end.
    var offsetComponents = 6
    /// Mean seconds between rows (about two days for 300,000 rows).
    var meanGapSeconds = 0.6
    var seed: UInt64 = 7

    /// The column mapping `vigil replay --columns` takes for this file.
    static let mapping = "id=none,time=Time,time_unit=s,label=Class,amount=Amount,card=none,features=*"

    /// Writes the CSV to `path`; returns the number of fraud rows.
    @discardableResult
    func write(to path: String) throws -> Int {
        var g = SeededGenerator(seed: seed)
        let d = components
        func gaussian(_ n: Int, sd: Float) -> [Float] { (0..<n).map { _ in g.nextNormal() * sd } }
        let legitMeans = (0..<legitClusters).map { _ in gaussian(d, sd: 1) }
        let legitSDs = (0..<legitClusters).map { _ in (0..<d).map { _ in 0.8 + 0.4 * g.nextUnit() } }
        func offset() -> [Float] {
            var o = [Float](repeating: 0, count: d)
            var picked: [Int] = []  // an array, not a Set: its order must not depend on the process
            while picked.count < offsetComponents {
                let c = Int(g.next() % UInt64(d))
                if !picked.contains(c) { picked.append(c) }
            }
            for c in picked { o[c] = (g.nextUnit() < 0.5 ? -1 : 1) * (1.5 + g.nextUnit()) }
            return o
        }
        let anchors = (0..<fraudClusters).map { _ in Int(g.next() % UInt64(legitClusters)) }
        let startOffsets = (0..<fraudClusters).map { _ in offset() }
        let endOffsets = (0..<fraudClusters).map { _ in offset() }
        let fraudSDs = (0..<fraudClusters).map { _ in (0..<d).map { _ in 0.8 + 0.7 * g.nextUnit() } }

        var text = "Time," + (1...d).map { "V\($0)" }.joined(separator: ",") + ",Amount,Class\n"
        text.reserveCapacity(rows * (d * 8 + 24))
        var time = 0.0, frauds = 0
        for i in 0..<rows {
            time += -meanGapSeconds * log(max(Double(g.nextUnit()), 1e-9))
            let isFraud = Double(g.nextUnit()) < fraudRate
            var x = [Float](repeating: 0, count: d)
            if isFraud {
                frauds += 1
                let k = Int(g.next() % UInt64(fraudClusters))
                let s = Float(i) / Float(rows)  // drift: the offset moves from its start to its end components
                for c in 0..<d {
                    let center = legitMeans[anchors[k]][c] + (1 - s) * startOffsets[k][c] + s * endOffsets[k][c]
                    x[c] = center + g.nextNormal() * fraudSDs[k][c]
                }
            } else {
                let k = Int(g.next() % UInt64(legitClusters))
                for c in 0..<d { x[c] = legitMeans[k][c] + g.nextNormal() * legitSDs[k][c] }
            }
            // Amounts carry no signal: the same log-normal for both classes.
            let amount = exp(3.5 + 1.2 * Double(g.nextNormal()))
            text += String(format: "%.3f", time)
            for v in x { text += String(format: ",%.4f", v) }
            text += String(format: ",%.2f,%d\n", amount, isFraud ? 1 : 0)
        }
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return frauds
    }
}
