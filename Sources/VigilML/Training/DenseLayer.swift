// A trainable fully connected layer: Float32 master weights and an optional sparsity mask.
import Foundation

/// Weights are outputs×inputs row-major; activations feature-major (features × batch).
/// Pruned weights are held at exactly zero in the master copy.
struct DenseLayer: Sendable, Equatable {
    let inputs: Int
    let outputs: Int
    let activation: Activation
    var weights: [Float]
    var bias: [Float]
    /// 1 = kept, 0 = pruned; nil while the layer is dense.
    var mask: [Float]?

    /// He initialisation for ReLU layers, Xavier otherwise; deterministic given the generator.
    init(inputs: Int, outputs: Int, activation: Activation, generator: inout SeededGenerator) {
        self.inputs = inputs
        self.outputs = outputs
        self.activation = activation
        let scale = activation == .relu ? (2 / Float(inputs)).squareRoot() : (1 / Float(inputs)).squareRoot()
        weights = (0..<(inputs * outputs)).map { _ in generator.nextNormal() * scale }
        bias = [Float](repeating: 0, count: outputs)
    }

    init(inputs: Int, outputs: Int, activation: Activation, weights: [Float], bias: [Float], mask: [Float]?) {
        self.inputs = inputs
        self.outputs = outputs
        self.activation = activation
        self.weights = weights
        self.bias = bias
        self.mask = mask
    }

    /// Gradients of one backward pass.
    struct Gradients {
        var weights: [Float]
        var bias: [Float]
        var input: [Float]
    }

    /// activation(W · x + b): x is inputs×n, the result outputs×n.
    func forward(_ x: [Float], n: Int) -> [Float] {
        var out = [Float](repeating: 0, count: outputs * n)
        weights.withUnsafeBufferPointer { w in
            x.withUnsafeBufferPointer { xp in
                out.withUnsafeMutableBufferPointer { o in
                    BLAS.gemm(transposeA: false, transposeB: false, m: outputs, n: n, k: inputs,
                              a: w.baseAddress!, b: xp.baseAddress!, c: o.baseAddress!)
                    bias.withUnsafeBufferPointer {
                        activation.applyWithBias(o.baseAddress!, bias: $0.baseAddress!, rows: outputs, cols: n)
                    }
                }
            }
        }
        return out
    }

    /// Backward pass given the input x, this layer's output a and d(loss)/d(a).
    /// The weight gradient is dense (pruned entries too): regrowth ranks them by it.
    func backward(input x: [Float], output a: [Float], gradient: [Float], n: Int, needInput: Bool) -> Gradients {
        var dz = gradient
        var dw = [Float](repeating: 0, count: inputs * outputs)
        var db = [Float](repeating: 0, count: outputs)
        var dx = needInput ? [Float](repeating: 0, count: inputs * n) : []
        dz.withUnsafeMutableBufferPointer { dzp in
            a.withUnsafeBufferPointer { activation.backward(dzp.baseAddress!, outputs: $0.baseAddress!, count: outputs * n) }
            Self.sumRows(dzp.baseAddress!, rows: outputs, cols: n, into: &db)
            x.withUnsafeBufferPointer { xp in
                dw.withUnsafeMutableBufferPointer { dwp in
                    BLAS.gemm(transposeA: false, transposeB: true, m: outputs, n: inputs, k: n,
                              a: dzp.baseAddress!, b: xp.baseAddress!, c: dwp.baseAddress!)
                }
            }
            if needInput {
                weights.withUnsafeBufferPointer { w in
                    dx.withUnsafeMutableBufferPointer { dxp in
                        BLAS.gemm(transposeA: true, transposeB: false, m: inputs, n: n, k: outputs,
                                  a: w.baseAddress!, b: dzp.baseAddress!, c: dxp.baseAddress!)
                    }
                }
            }
        }
        return Gradients(weights: dw, bias: db, input: dx)
    }

    /// `sums[r]` = the sum of row `r` of a rows×cols row-major buffer, each added left to
    /// right (the same bits as a plain loop). Four rows run side by side: one running sum
    /// is a chain of dependent additions, four fill the adder's pipeline.
    static func sumRows(_ x: UnsafePointer<Float>, rows: Int, cols: Int, into sums: inout [Float]) {
        sums.withUnsafeMutableBufferPointer { out in
            var r = 0
            while r + 4 <= rows {
                let a = x + r * cols, b = a + cols, c = b + cols, d = c + cols
                var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
                for j in 0..<cols { s0 += a[j]; s1 += b[j]; s2 += c[j]; s3 += d[j] }
                out[r] = s0; out[r + 1] = s1; out[r + 2] = s2; out[r + 3] = s3
                r += 4
            }
            while r < rows {
                var s: Float = 0
                for j in 0..<cols { s += x[r * cols + j] }
                out[r] = s
                r += 1
            }
        }
    }

    /// Fraction of weights kept (1 when dense).
    var density: Double {
        guard let mask else { return 1 }
        return Double(mask.reduce(0, +)) / Double(mask.count)
    }

    func packed(precision: WeightPrecision, format: LayerFormat) -> PackedLayer {
        PackedLayer(weights: weights, bias: bias, inputs: inputs, outputs: outputs, activation: activation,
                    mask: mask, precision: precision, format: format)
    }

    /// Frozen as INT8 for inputs calibrated to `ranges`.
    func quantized(ranges: ActivationRanges) -> PackedLayer {
        PackedLayer(weights: weights, bias: bias, inputs: inputs, outputs: outputs, activation: activation,
                    mask: mask, ranges: ranges)
    }

    /// True when every weight and bias is finite.
    var isFinite: Bool { weights.allSatisfy(\.isFinite) && bias.allSatisfy(\.isFinite) }
}
