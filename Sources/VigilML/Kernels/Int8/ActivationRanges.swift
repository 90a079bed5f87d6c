// What a layer's inputs looked like on calibration traffic: the range INT8 codes must cover.

/// Per-input lowest and highest value seen by one layer over calibration events.
public struct ActivationRanges: Sendable, Equatable {
    public private(set) var lower: [Float]
    public private(set) var upper: [Float]

    public init(width: Int) {
        lower = [Float](repeating: 0, count: width)
        upper = [Float](repeating: 0, count: width)
    }

    public var width: Int { lower.count }

    /// Widens the ranges to cover x (width × n, feature-major).
    public mutating func observe(_ x: [Float], n: Int) {
        precondition(x.count == width * n, "observe takes width × n values")
        x.withUnsafeBufferPointer { observe($0.baseAddress!, n: n) }
    }

    /// Widens the ranges to cover x (width × n, feature-major). Zero is always inside: a
    /// range is measured from zero, which the symmetric codes represent exactly.
    mutating func observe(_ x: UnsafePointer<Float>, n: Int) {
        for f in 0..<width {
            var lo = lower[f], hi = upper[f]
            let row = x + f * n
            for j in 0..<n {
                lo = min(lo, row[j])
                hi = max(hi, row[j])
            }
            lower[f] = lo
            upper[f] = hi
        }
    }
}

extension Array where Element == DenseLayer {
    /// Runs a chain of master layers over calibration input x (feature-major, the first
    /// layer's inputs × n) and returns each layer's input ranges: what the Float32 model feeds
    /// every layer on that traffic.
    func inputRanges(_ x: [Float], n: Int) -> [ActivationRanges] {
        var ranges: [ActivationRanges] = []
        var current = x
        for layer in self {
            var r = ActivationRanges(width: layer.inputs)
            current.withUnsafeBufferPointer { r.observe($0.baseAddress!, n: n) }
            ranges.append(r)
            current = layer.forward(current, n: n)
        }
        return ranges
    }
}
