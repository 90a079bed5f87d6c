// Dense INT8 weights of one frozen layer with the quantisation of its inputs.

/// Per-output-channel symmetric Int8 weights and per-input activation codes calibrated on
/// recent traffic. out[o] = (Σᵢ q[o,i]·code[i] − compensation[o]) · scale[o] + bias[o].
///
/// - Inputs: feature i is coded as round(x / s_i) + z_i in 0...255, clamped: a range seen only
///   non-negative (ReLU outputs) uses all 256 codes from 0 (z = 0, s = max/255), a signed one
///   127 codes either side of z = 128 (s = max|x|/127), the calibrated range widened by
///   `headroom`. Values beyond that clamp to its ends. A range that was only ever 0 is taken
///   as [0, 1] (a flag that did not fire during calibration still counts when it does).
/// - Weights: each input's scale is folded into its column (w·s_i), then each output row is
///   quantised symmetrically to ±127 with its own scale. Per-input activation scales thus cost
///   nothing at run time (feature-major rows are scaled one by one when coded).
/// - compensation[o] = Σᵢ q[o,i]·z_i removes the zero points in integer arithmetic, exactly.
public struct Int8Matrix: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    /// Groups of four inputs (one Int32 lane of vpdpbusd); inputs are padded with zero weights.
    let groups: Int
    /// rows × groups·4.
    let weights: [Int8]
    let scale: [Float]
    let compensation: [Int32]
    let inverseInputScale: [Float]
    let zeroPoint: [Float]
    /// s_i, for the effective Float32 weights (q·scale/s_i) of the backward pass.
    let inputScale: [Float]

    /// The calibrated ranges are widened by a quarter before coding. Clamping exactly at the
    /// calibration sample's extremes moved the scores of events just past them (a test
    /// autoencoder's planted anomalies: 2.6 standard-score units against Float32; 0.75 with
    /// this headroom, which costs a third of a bit of resolution).
    static let headroom: Float = 1.25

    /// Quantises dense row-major weights (rows × cols, masked already) for inputs in `ranges`.
    public init(dense: [Float], rows: Int, cols: Int, ranges: ActivationRanges) {
        precondition(dense.count == rows * cols && ranges.width == cols, "weights and ranges must match the layer")
        self.rows = rows
        self.cols = cols
        groups = (cols + 3) / 4
        var inputScale = [Float](repeating: 1, count: cols), zero = [Float](repeating: 0, count: cols)
        for i in 0..<cols {
            let lo = ranges.lower[i] * Self.headroom, hi = ranges.upper[i] * Self.headroom
            if lo >= 0 {
                inputScale[i] = (hi > 0 ? hi : 1) / 255
            } else {
                inputScale[i] = Swift.max(-lo, hi) / 127
                zero[i] = 128
            }
        }
        let k = groups * 4
        var q = [Int8](repeating: 0, count: rows * k)
        var scale = [Float](repeating: 1, count: rows), compensation = [Int32](repeating: 0, count: rows)
        for o in 0..<rows {
            var largest: Float = 0
            for i in 0..<cols { largest = Swift.max(largest, abs(dense[o * cols + i] * inputScale[i])) }
            let s = largest > 0 ? largest / 127 : 1
            scale[o] = s
            var c: Int32 = 0
            for i in 0..<cols {
                let code = Int8(Swift.min(Swift.max((dense[o * cols + i] * inputScale[i] / s).rounded(.toNearestOrEven), -127), 127))
                q[o * k + i] = code
                c += Int32(code) * Int32(zero[i])
            }
            compensation[o] = c
        }
        weights = q
        self.scale = scale
        self.compensation = compensation
        self.inputScale = inputScale
        inverseInputScale = inputScale.map { 1 / $0 }
        zeroPoint = zero
    }

    /// Bytes held for scoring: Int8 weights (with padding), per-row scale and compensation,
    /// per-input scale and zero point.
    public var byteCount: Int { weights.count + rows * 8 + cols * 8 }

    /// Bytes of the packed codes for n events.
    public func codeBytes(events n: Int) -> Int { groups * 4 * Int8Kernel.paddedEvents(n) }

    /// The Float32 weight the INT8 arithmetic stands for at (o, i).
    func effectiveWeight(_ o: Int, _ i: Int) -> Float {
        Float(weights[o * groups * 4 + i]) * scale[o] / inputScale[i]
    }

    /// out = W·x + bias (ReLU'd when `relu`), x cols×n feature-major; `codes` holds codeBytes(n).
    /// `kernel` other than the selected one: for tests and the benchmark's kernel comparison.
    func forward(_ x: UnsafePointer<Float>, n: Int, bias: UnsafePointer<Float>, relu: Bool,
                 into out: UnsafeMutablePointer<Float>, codes: UnsafeMutablePointer<UInt8>, kernel: Int8Kernel = .selected) {
        quantize(x, n: n, into: codes, kernel: kernel)
        multiply(codes: codes, n: n, bias: bias, relu: relu, into: out, kernel: kernel)
    }

    /// Codes x (cols×n feature-major) as this layer's input: codeBytes(n) bytes.
    func quantize(_ x: UnsafePointer<Float>, n: Int, into codes: UnsafeMutablePointer<UInt8>, kernel: Int8Kernel = .selected) {
        inverseInputScale.withUnsafeBufferPointer { inverse in
            zeroPoint.withUnsafeBufferPointer { zero in
                kernel.quantize(x, rows: cols, n: n, groups: groups, inverseScale: inverse.baseAddress!,
                                zeroPoint: zero.baseAddress!, into: codes)
            }
        }
    }

    /// Whether `multiply(codes:...requantizingFor:)` can hand `next` its input codes: its inputs
    /// are this layer's outputs, whole groups of four of them.
    public func chains(into next: Int8Matrix) -> Bool { next.cols == rows && rows % 4 == 0 }

    /// The layer's outputs (bias added, ReLU'd when `relu`) coded straight as `next`'s input
    /// codes (next.codeBytes(n) bytes at `nextCodes`): the same bytes `next.quantize` would make
    /// of the floats `multiply(codes:into:)` writes, without writing or reading those floats.
    /// Needs `chains(into: next)`.
    func multiply(codes: UnsafePointer<UInt8>, n: Int, bias: UnsafePointer<Float>, relu: Bool, requantizingFor next: Int8Matrix,
                         into nextCodes: UnsafeMutablePointer<UInt8>, kernel: Int8Kernel = .selected) {
        precondition(chains(into: next), "the next layer must take this layer's outputs, in groups of four")
        weights.withUnsafeBufferPointer { w in
            compensation.withUnsafeBufferPointer { c in
                scale.withUnsafeBufferPointer { s in
                    next.inverseInputScale.withUnsafeBufferPointer { inverse in
                        next.zeroPoint.withUnsafeBufferPointer { zero in
                            kernel.multiplyRequantizing(codes, groups: groups, n: n, weights: w.baseAddress!, outputs: rows,
                                                        compensation: c.baseAddress!, scale: s.baseAddress!, bias: bias, relu: relu,
                                                        nextInverseScale: inverse.baseAddress!, nextZeroPoint: zero.baseAddress!,
                                                        into: nextCodes)
                        }
                    }
                }
            }
        }
    }

    /// out = W·x + bias (ReLU'd when `relu`) from x already coded (`quantize`, or the previous
    /// layer's `multiply(codes:...requantizingFor:)`).
    func multiply(codes: UnsafePointer<UInt8>, n: Int, bias: UnsafePointer<Float>, relu: Bool,
                         into out: UnsafeMutablePointer<Float>, kernel: Int8Kernel = .selected) {
        weights.withUnsafeBufferPointer { w in
            compensation.withUnsafeBufferPointer { c in
                scale.withUnsafeBufferPointer { s in
                    kernel.multiply(codes, groups: groups, n: n, weights: w.baseAddress!, outputs: rows, compensation: c.baseAddress!,
                                    scale: s.baseAddress!, bias: bias, relu: relu, into: out)
                }
            }
        }
    }
}
