import Testing
@testable import VigilML

/// Consecutive INT8 layers hand each other codes: the fused product + requantisation must give
/// the next layer exactly the bytes it would have coded from the floats, so chaining changes no
/// score (with either kernel).
@Suite struct Int8ChainTests {
    /// Layer `a` (inputs → hidden) and `b` (hidden → outputs), calibrated on `x` and on a's
    /// Float32 outputs for it, as a snapshot's layers are.
    static func pair(inputs: Int, hidden: Int, outputs: Int, x: [Float], n: Int, activation: Activation) -> (a: Int8Matrix, b: Int8Matrix) {
        var first = ActivationRanges(width: inputs)
        x.withUnsafeBufferPointer { first.observe($0.baseAddress!, n: n) }
        let wa = randomArray(hidden * inputs, seed: 21), ba = randomArray(hidden, seed: 22)
        let a = Int8Matrix(dense: wa, rows: hidden, cols: inputs, ranges: first)
        // b's ranges from a's Float32 outputs, narrowed so that some of them clamp.
        var y = [Float](repeating: 0, count: hidden * n)
        for o in 0..<hidden {
            for j in 0..<n {
                var sum = ba[o]
                for i in 0..<inputs { sum += wa[o * inputs + i] * x[i * n + j] }
                y[o * n + j] = activation == .relu ? max(sum, 0) : sum
            }
        }
        var second = ActivationRanges(width: hidden)
        let sample = min(n, max(1, n / 2))
        var head = [Float](repeating: 0, count: hidden * sample)
        for o in 0..<hidden { for j in 0..<sample { head[o * sample + j] = y[o * n + j] } }
        head.withUnsafeBufferPointer { second.observe($0.baseAddress!, n: sample) }
        return (a, Int8Matrix(dense: randomArray(outputs * hidden, seed: 23), rows: outputs, cols: hidden, ranges: second))
    }

    /// a's outputs coded for b two ways: through Float32 (multiply, then b.quantize) and fused.
    static func codes(_ a: Int8Matrix, _ b: Int8Matrix, x: [Float], n: Int, relu: Bool, kernel: Int8Kernel) -> (unfused: [UInt8], fused: [UInt8]) {
        let bias = randomArray(a.rows, seed: 22)
        var input = [UInt8](repeating: 0, count: a.codeBytes(events: n))
        var floats = [Float](repeating: 0, count: a.rows * n)
        var unfused = [UInt8](repeating: 0xEE, count: b.codeBytes(events: n))
        var fused = [UInt8](repeating: 0x77, count: b.codeBytes(events: n))
        x.withUnsafeBufferPointer { xp in
            input.withUnsafeMutableBufferPointer { a.quantize(xp.baseAddress!, n: n, into: $0.baseAddress!, kernel: kernel) }
        }
        input.withUnsafeBufferPointer { codes in
            bias.withUnsafeBufferPointer { bp in
                floats.withUnsafeMutableBufferPointer {
                    a.multiply(codes: codes.baseAddress!, n: n, bias: bp.baseAddress!, relu: relu, into: $0.baseAddress!, kernel: kernel)
                }
                fused.withUnsafeMutableBufferPointer {
                    a.multiply(codes: codes.baseAddress!, n: n, bias: bp.baseAddress!, relu: relu, requantizingFor: b, into: $0.baseAddress!, kernel: kernel)
                }
            }
        }
        floats.withUnsafeBufferPointer { f in
            unfused.withUnsafeMutableBufferPointer { b.quantize(f.baseAddress!, n: n, into: $0.baseAddress!, kernel: kernel) }
        }
        return (unfused, fused)
    }

    /// The autoencoder's and a student's shapes; one event, partial vectors, several tiles.
    @Test(arguments: [(24, 32, 8, 1), (24, 32, 8, 17), (8, 32, 24, 64), (41, 16, 1, 130), (5, 4, 3, 1000)])
    func fusedRequantisationCodesExactlyWhatQuantisingTheFloatsWould(inputs: Int, hidden: Int, outputs: Int, n: Int) {
        var x = Int8Tests.layerInputs(inputs, n, seed: 24)
        // Extremes: zeros, and values far past the calibrated ranges (clamped codes).
        if n > 4 { for i in 0..<inputs { x[i * n] = 0; x[i * n + 1] = 1e6; x[i * n + 2] = -1e6 } }
        for activation in [Activation.relu, .identity] {
            let (a, b) = Self.pair(inputs: inputs, hidden: hidden, outputs: outputs, x: x, n: n, activation: activation)
            #expect(a.chains(into: b))
            for kernel in Int8Kernel.allCases where kernel.isSupported {
                let (unfused, fused) = Self.codes(a, b, x: x, n: n, relu: activation == .relu, kernel: kernel)
                // Every byte, the padding events' (coded 0) included.
                #expect(unfused == fused, "\(kernel), \(activation): \(zip(unfused, fused).filter { $0 != $1 }.count) bytes differ")
            }
        }
    }

    @Test func onlyWholeGroupsOfOutputsChain() {
        var ranges = ActivationRanges(width: 6)
        let x = Int8Tests.layerInputs(6, 8, seed: 25)
        x.withUnsafeBufferPointer { ranges.observe($0.baseAddress!, n: 8) }
        let a = Int8Matrix(dense: randomArray(6 * 6, seed: 26), rows: 6, cols: 6, ranges: ranges)
        let b = Int8Matrix(dense: randomArray(6 * 6, seed: 27), rows: 6, cols: 6, ranges: ranges)
        #expect(!a.chains(into: b), "6 outputs are not whole groups of four")
        var five = ActivationRanges(width: 5)
        let x5 = Int8Tests.layerInputs(5, 8, seed: 28)
        x5.withUnsafeBufferPointer { five.observe($0.baseAddress!, n: 8) }
        let c = Int8Matrix(dense: randomArray(4 * 5, seed: 29), rows: 4, cols: 5, ranges: five)
        #expect(!c.chains(into: b), "b does not take c's 4 outputs")
    }
}
