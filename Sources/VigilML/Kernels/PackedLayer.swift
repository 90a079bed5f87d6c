// A fully connected layer frozen for scoring: dense or CSR, Float32 or Float16 weights, or
// dense INT8 with calibrated input codes.

/// How a published layer stores its weights.
public enum LayerFormat: Sendable, Equatable {
    /// Dense unless the layer has a sparsity mask keeping at most `maxDensity` of its weights.
    case automatic(maxDensity: Double)
    case dense
    case sparse

    /// Default: CSR when at most 60% of the weights are kept (below that, the axpy form
    /// beats sgemm on our small layers).
    public static let standard = LayerFormat.automatic(maxDensity: 0.6)
}

/// An immutable layer used by published models. Weights are outputs×inputs row-major,
/// activations feature-major (inputs×n in, outputs×n out).
public struct PackedLayer: Sendable, Equatable {
    public enum Storage: Sendable, Equatable {
        case dense([Float])
        case half([Float16])
        case csr(CSRMatrix)
        /// Int8 weights, Int32 accumulation; see `Int8Matrix`.
        case int8(Int8Matrix)
    }

    public let inputs: Int
    public let outputs: Int
    public let activation: Activation
    public let bias: [Float]
    public let storage: Storage

    /// Freezes master weights. `mask` (same shape as `weights`, 1 = kept) is applied first.
    public init(weights: [Float], bias: [Float], inputs: Int, outputs: Int, activation: Activation,
                mask: [Float]?, precision: WeightPrecision, format: LayerFormat) {
        self.inputs = inputs
        self.outputs = outputs
        self.activation = activation
        self.bias = bias
        var masked = weights
        if let mask { for i in masked.indices { masked[i] *= mask[i] } }
        let density = mask.map { m in Double(m.reduce(0, +)) / Double(max(m.count, 1)) } ?? 1
        let sparse: Bool
        switch format {
        case .dense: sparse = false
        case .sparse: sparse = true
        case .automatic(let maxDensity): sparse = mask != nil && density <= maxDensity
        }
        if sparse && inputs <= 65_536 {
            storage = .csr(CSRMatrix(dense: masked, rows: outputs, cols: inputs, mask: mask, precision: precision))
        } else if precision == .float16 {
            storage = .half(HalfPrecision.narrow(masked))
        } else {
            storage = .dense(masked)
        }
    }

    /// Freezes master weights as INT8 for inputs calibrated to `ranges` (see `Int8Matrix`).
    /// A sparsity mask is applied and then stored densely: at 70% sparsity on our layer sizes
    /// the dense VNNI product is faster than any CSR form, and a byte a weight is smaller than
    /// CSR's value plus column index.
    public init(weights: [Float], bias: [Float], inputs: Int, outputs: Int, activation: Activation,
                mask: [Float]?, ranges: ActivationRanges) {
        self.inputs = inputs
        self.outputs = outputs
        self.activation = activation
        self.bias = bias
        var masked = weights
        if let mask { for i in masked.indices { masked[i] *= mask[i] } }
        storage = .int8(Int8Matrix(dense: masked, rows: outputs, cols: inputs, ranges: ranges))
    }

    /// Weight bytes (values and sparse indices, not bias; INT8 scales included).
    public var byteCount: Int {
        switch storage {
        case .dense(let w): return w.count * 4
        case .half(let w): return w.count * 2
        case .csr(let m): return m.byteCount
        case .int8(let m): return m.byteCount
        }
    }

    /// Scratch floats `forward` needs for n events (to widen half weights once per call, or
    /// to hold the INT8 input codes).
    public func scratchCount(events n: Int) -> Int {
        switch storage {
        case .half: return inputs * outputs
        case .int8(let m): return (m.codeBytes(events: n) + 3) / 4
        case .dense, .csr: return 0
        }
    }

    /// out = activation(W · x + b) for x inputs×n, out outputs×n (feature-major).
    /// `scratch` must hold `scratchCount(events: n)` floats.
    func forward(_ x: UnsafePointer<Float>, n: Int, into out: UnsafeMutablePointer<Float>,
                        scratch: UnsafeMutablePointer<Float>) {
        switch storage {
        case .dense(let w):
            w.withUnsafeBufferPointer { wp in
                if n == 1 {
                    BLAS.gemv(transpose: false, rows: outputs, cols: inputs, a: wp.baseAddress!, x: x, y: out)
                } else if outputs == 1 {
                    // A single output (the logit) is Xᵀ·w: a matrix-vector product, which BLAS
                    // does far better than a one-row matrix product.
                    BLAS.gemv(transpose: true, rows: inputs, cols: n, a: x, x: wp.baseAddress!, y: out)
                } else {
                    BLAS.gemm(transposeA: false, transposeB: false, m: outputs, n: n, k: inputs,
                              a: wp.baseAddress!, b: x, c: out)
                }
            }
        case .half(let w):
            if n == 1 {
                // One event: widen on the fly inside the dot products (one pass over the
                // weights instead of a widening pass plus a gemv pass).
                HalfPrecision.table.withUnsafeBufferPointer { t in
                    w.withUnsafeBufferPointer { hw in
                        for o in 0..<outputs {
                            let row = hw.baseAddress! + o * inputs
                            var sum: Float = 0
                            for i in 0..<inputs { sum += t[Int(row[i].bitPattern)] * x[i] }
                            out[o] = sum
                        }
                    }
                }
            } else {
                w.withUnsafeBufferPointer { HalfPrecision.widen($0.baseAddress!, count: $0.count, into: scratch) }
                if outputs == 1 {
                    BLAS.gemv(transpose: true, rows: inputs, cols: n, a: x, x: scratch, y: out)
                } else {
                    BLAS.gemm(transposeA: false, transposeB: false, m: outputs, n: n, k: inputs, a: scratch, b: x, c: out)
                }
            }
        case .csr(let m):
            m.multiply(x, n: n, into: out)
        case .int8(let m):
            // Bias and ReLU are applied while dequantising; other activations afterwards.
            let fused = activation == .relu || activation == .identity
            scratch.withMemoryRebound(to: UInt8.self, capacity: m.codeBytes(events: n)) { codes in
                bias.withUnsafeBufferPointer { b in
                    m.forward(x, n: n, bias: b.baseAddress!, relu: activation == .relu, into: out, codes: codes)
                }
            }
            if !fused {
                [Float](repeating: 0, count: outputs).withUnsafeBufferPointer {
                    activation.applyWithBias(out, bias: $0.baseAddress!, rows: outputs, cols: n)
                }
            }
            return
        }
        bias.withUnsafeBufferPointer { activation.applyWithBias(out, bias: $0.baseAddress!, rows: outputs, cols: n) }
    }

    /// d(inputs) = Wᵀ · (d(outputs) ⊙ activation′) for one event; `gradient` (length
    /// outputs) is modified in place, `output` is the layer's forward output for that event.
    func backwardInput(_ gradient: UnsafeMutablePointer<Float>, output: UnsafePointer<Float>,
                       into dInput: UnsafeMutablePointer<Float>) {
        activation.backward(gradient, outputs: output, count: outputs)
        switch storage {
        case .dense(let w):
            w.withUnsafeBufferPointer {
                BLAS.gemv(transpose: true, rows: outputs, cols: inputs, a: $0.baseAddress!, x: gradient, y: dInput)
            }
        case .half(let w):
            dInput.update(repeating: 0, count: inputs)
            for o in 0..<outputs {
                for i in 0..<inputs { dInput[i] += Float(w[o * inputs + i]) * gradient[o] }
            }
        case .csr(let m):
            m.multiplyTransposed(gradient, into: dInput)
        case .int8(let m):
            dInput.update(repeating: 0, count: inputs)
            for o in 0..<outputs {
                for i in 0..<inputs { dInput[i] += m.effectiveWeight(o, i) * gradient[o] }
            }
        }
    }
}
