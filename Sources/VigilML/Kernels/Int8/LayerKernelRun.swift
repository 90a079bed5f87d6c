// One layer's forward pass over a batch through each kernel this CPU runs: Float32 through
// OpenBLAS and INT8 through the portable and the VNNI kernel. `vigil-bench models` times
// `forward(_:)` per path: why the INT8 kernels are C.
import Foundation

/// A `inputs`→`outputs` ReLU layer, as Float32 and as INT8, with its input batch and outputs.
public final class LayerKernelRun {
    public enum Path: String, CaseIterable, Sendable {
        case float32OpenBLAS = "f32_openblas"
        case int8Portable = "int8_portable"
        case int8VNNI = "int8_vnni"
    }

    public let inputs: Int
    public let outputs: Int
    public let batch: Int
    let f32: PackedLayer
    let matrix: Int8Matrix
    let x: [Float]
    let bias: [Float]
    var out: [Float]
    var scratch: [Float]

    /// Random weights and inputs from `seed`; nil when the layer does not quantise.
    public init?(inputs: Int, outputs: Int, batch: Int, seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        let w = (0..<(inputs * outputs)).map { _ in Float(g.nextUnit() - 0.5) }
        let bias = [Float](repeating: 0.1, count: outputs)
        let x = (0..<(inputs * batch)).map { _ in Float(g.nextUnit() * 2 - 1) }
        var ranges = ActivationRanges(width: inputs)
        ranges.observe(x, n: batch)
        let q8 = PackedLayer(weights: w, bias: bias, inputs: inputs, outputs: outputs, activation: .relu, mask: nil, ranges: ranges)
        guard case .int8(let matrix) = q8.storage else { return nil }
        (self.inputs, self.outputs, self.batch, self.matrix, self.x, self.bias) = (inputs, outputs, batch, matrix, x, bias)
        f32 = PackedLayer(weights: w, bias: bias, inputs: inputs, outputs: outputs, activation: .relu, mask: nil, precision: .float32, format: .dense)
        out = [Float](repeating: 0, count: outputs * batch)
        scratch = [Float](repeating: 0, count: max(q8.scratchCount(events: batch), 1))
    }

    /// The paths this CPU runs.
    public var paths: [Path] {
        Path.allCases.filter { path in
            switch path {
            case .float32OpenBLAS: true
            case .int8Portable: Int8Kernel.portable.isSupported
            case .int8VNNI: Int8Kernel.allCases.contains { $0 != .portable && $0.isSupported }
            }
        }
    }

    /// One forward pass of the batch through `path`.
    public func forward(_ path: Path) {
        let kernel: Int8Kernel? = switch path {
        case .float32OpenBLAS: nil
        case .int8Portable: .portable
        case .int8VNNI: Int8Kernel.allCases.first { $0 != .portable && $0.isSupported }
        }
        let (f32, matrix, batch) = (self.f32, self.matrix, self.batch)
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { o in
                scratch.withUnsafeMutableBufferPointer { s in
                    guard let kernel else {
                        f32.forward(xp.baseAddress!, n: batch, into: o.baseAddress!, scratch: s.baseAddress!)
                        return
                    }
                    bias.withUnsafeBufferPointer { b in
                        s.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: matrix.codeBytes(events: batch)) { codes in
                            matrix.forward(xp.baseAddress!, n: batch, bias: b.baseAddress!, relu: true, into: o.baseAddress!,
                                           codes: codes, kernel: kernel)
                        }
                    }
                }
            }
        }
    }
}
