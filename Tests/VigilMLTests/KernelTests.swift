import Testing
import Foundation
@testable import VigilML

@Suite struct KernelTests {
    @Test func gemmMatchesNaiveLoopForAllTranspositions() {
        let m = 5, n = 7, k = 3
        for ta in [false, true] {
            for tb in [false, true] {
                let a = randomArray(m * k, seed: 1), b = randomArray(k * n, seed: 2)
                var c = [Float](repeating: 0, count: m * n)
                BLAS.gemm(transposeA: ta, transposeB: tb, m: m, n: n, k: k, a: a, b: b, c: &c)
                var expected = [Float](repeating: 0, count: m * n)
                for i in 0..<m {
                    for j in 0..<n {
                        for p in 0..<k {
                            expected[i * n + j] += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j])
                        }
                    }
                }
                #expect(maxAbsDifference(c, expected) < 1e-5, "transposeA \(ta) transposeB \(tb)")
            }
        }
    }

    @Test func halfTableWidensEveryBitPatternExactly() {
        for bits in stride(from: 0, through: 0xFFFF, by: 7) {
            let h = Float16(bitPattern: UInt16(bits))
            let w = HalfPrecision.table[bits]
            #expect(w == Float(h) || (w.isNaN && h.isNaN))
        }
    }

    @Test func halfNarrowingRoundsExactlyAsFloat16Does() {
        // Around every half value: the value, the midpoints to its neighbours (ties to even)
        // and one float ulp either side of them, both signs; subnormals, the overflow
        // threshold and zero included. Then random bit patterns.
        var disagreements = 0
        var all: [Float] = []
        func check(_ x: Float) {
            all.append(x)
            let mine = HalfPrecision.narrow(x), reference = Float16(x)
            let same = mine.bitPattern == reference.bitPattern || (mine.isNaN && reference.isNaN)
            if !same {
                disagreements += 1
                if disagreements <= 5 { Issue.record("\(x) (bits \(String(x.bitPattern, radix: 16))): \(mine.bitPattern) vs \(reference.bitPattern)") }
            }
        }
        for bits in 0..<0x7C00 {
            let h = Float(Float16(bitPattern: UInt16(bits)))
            let next = Float(Float16(bitPattern: UInt16(bits + 1)))
            let mid = bits + 1 == 0x7C00 ? Float(65520) : (h + next) / 2
            for x in [h, mid, mid.nextUp, mid.nextDown, h.nextUp, h.nextDown] {
                check(x)
                check(-x)
            }
        }
        for x: Float in [0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .infinity, .nan, 65504, 65519.99, 65520, 1e-8, 2.9802322e-08, 2.9802326e-08] {
            check(x)
            check(-x)
        }
        var g = SeededGenerator(seed: 9)
        for _ in 0..<200_000 { check(Float(bitPattern: UInt32(truncatingIfNeeded: g.next()))) }
        #expect(disagreements == 0)
        // The array form (branch-free) gives the same bits,
        // NaN for NaN, also with subnormals flushed.
        for values in [all, Array(all.prefix(37)), [], [Float.nan]] {
            let narrowed = HalfPrecision.narrow(values)
            #expect(narrowed.count == values.count)
            #expect(SubnormalFlushing.run { HalfPrecision.narrow(values) }.map(\.bitPattern) == narrowed.map(\.bitPattern))
            let differing = zip(narrowed, values).filter { h, x in
                let r = HalfPrecision.narrow(x)
                return !(h.bitPattern == r.bitPattern || (h.isNaN && r.isNaN))
            }.count
            #expect(differing == 0)
        }
        #expect(HalfPrecision.widen(Float16(1.5)) == 1.5)
    }

    @Test(arguments: [WeightPrecision.float32, .float16], [1, 3, 64])
    func csrEqualsDenseWithMaskApplied(precision: WeightPrecision, n: Int) {
        let rows = 12, cols = 9
        let w = randomArray(rows * cols, seed: 3)
        var g = SeededGenerator(seed: 4)
        let mask = (0..<(rows * cols)).map { _ in g.nextUnit() < 0.3 ? Float(1) : 0 }
        let x = randomArray(cols * n, seed: 5)
        let csr = CSRMatrix(dense: w, rows: rows, cols: cols, mask: mask, precision: precision)
        #expect(csr.nonZeroCount == Int(mask.reduce(0, +)))
        var y = [Float](repeating: .nan, count: rows * n)
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { csr.multiply(xp.baseAddress!, n: n, into: $0.baseAddress!) } }
        // Dense reference with the mask applied (and the stored precision's rounding).
        var expected = [Float](repeating: 0, count: rows * n)
        for r in 0..<rows {
            for c in 0..<cols {
                let weight = precision == .float16 ? Float(Float16(w[r * cols + c])) : w[r * cols + c]
                for j in 0..<n { expected[r * n + j] += weight * mask[r * cols + c] * x[c * n + j] }
            }
        }
        #expect(maxAbsDifference(y, expected) < 1e-5)
    }

    /// n = 1 and outputs = 1 take their own (gemv / gather) paths.
    @Test(arguments: [(6, 5), (6, 1), (1, 5), (1, 1)])
    func packedLayersAgreeAcrossFormatsAndPrecisions(outputs: Int, n: Int) {
        let inputs = 10
        let w = randomArray(inputs * outputs, seed: 6), b = randomArray(outputs, seed: 7)
        var g = SeededGenerator(seed: 8)
        let mask = (0..<(inputs * outputs)).map { _ in g.nextUnit() < 0.5 ? Float(1) : 0 }
        let x = randomArray(inputs * n, seed: 9)
        func run(_ precision: WeightPrecision, _ format: LayerFormat) -> [Float] {
            let layer = PackedLayer(weights: w, bias: b, inputs: inputs, outputs: outputs, activation: .tanh,
                                    mask: mask, precision: precision, format: format)
            var out = [Float](repeating: 0, count: outputs * n)
            var scratch = [Float](repeating: 0, count: max(layer.scratchCount(events: n), 1))
            x.withUnsafeBufferPointer { xp in
                out.withUnsafeMutableBufferPointer { o in
                    scratch.withUnsafeMutableBufferPointer { layer.forward(xp.baseAddress!, n: n, into: o.baseAddress!, scratch: $0.baseAddress!) }
                }
            }
            return out
        }
        let reference = run(.float32, .dense)
        #expect(maxAbsDifference(run(.float32, .sparse), reference) < 1e-5)
        // Float16 weights: relative rounding 2^-11 per weight, |x| ≲ 3, ≤ 10 terms → < 1e-2.
        #expect(maxAbsDifference(run(.float16, .dense), reference) < 1e-2)
        #expect(maxAbsDifference(run(.float16, .sparse), run(.float16, .dense)) < 1e-5)
    }

    @Test func inputValidationNamesTheBadValue() {
        #expect(throws: Never.self) { try InputValidation.check(rows: [1, 2, 3, 4], count: 2, width: 2) }
        #expect(throws: Never.self) { try InputValidation.check(rows: [], count: 0, width: 2) }
        for bad: Float in [.nan, .infinity, -.infinity] {
            let error = #expect(throws: MLError.self) { try InputValidation.check(rows: [1, 2, bad, 4], count: 2, width: 2) }
            #expect(error?.code == .nonFiniteInput)
            #expect(error?.message.contains("row 1, feature 0") == true)
        }
        // The magnitude bound is exact at 2^20, for both signs, and subnormals pass.
        #expect(throws: Never.self) { try InputValidation.check(rows: [1_048_575.9, -1_048_575.9, Float.leastNonzeroMagnitude, -0.0], count: 2, width: 2) }
        for big: Float in [1_048_576, -1_048_576, 3e38] {
            let error = #expect(throws: MLError.self) { try InputValidation.check(rows: [0, 0, 0, big], count: 2, width: 2) }
            #expect(error?.code == .inputOutOfRange)
            #expect(error?.message.contains("row 1, feature 1") == true)
        }
        let shape = #expect(throws: MLError.self) { try InputValidation.check(rows: [1, 2, 3], count: 2, width: 2) }
        #expect(shape?.code == .shapeMismatch)
    }

    @Test func seededGeneratorIsReproducibleAndRoughlyNormal() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42), c = SeededGenerator(seed: 43)
        let xs = (0..<10_000).map { _ in a.nextNormal() }
        #expect(xs == (0..<10_000).map { _ in b.nextNormal() })
        #expect(xs != (0..<10_000).map { _ in c.nextNormal() })
        let mean = xs.reduce(0, +) / Float(xs.count)
        let variance = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(xs.count)
        #expect(abs(mean) < 0.05 && abs(variance - 1) < 0.05)
    }

    @Test func subnormalsAreFlushedInsideAndTheEnvironmentIsRestoredAfter() throws {
        // Values from an array, so the compiler cannot fold the arithmetic.
        let values: [Float] = [Float.leastNormalMagnitude, 0.5, Float.leastNonzeroMagnitude, 1]
        let outside = values[0] * values[1]
        #expect(outside > 0 && outside.isSubnormal)
        #expect(values[2] * values[3] > 0)
        #expect(!SubnormalFlushing.isActive)
        let inside = SubnormalFlushing.run { (values[0] * values[1], values[2] * values[3], SubnormalFlushing.isActive) }
        #if arch(x86_64)
        #expect(inside.0 == 0, "a subnormal result is flushed to zero")
        #expect(inside.1 == 0, "a subnormal input counts as zero")
        #expect(inside.2)
        #endif
        #expect(!SubnormalFlushing.isActive, "the caller's environment is back")
        #expect((values[0] * values[1]).isSubnormal)
        // Nested runs keep the outer setting; errors pass through and still restore.
        struct Failure: Error {}
        #expect(throws: Failure.self) { try SubnormalFlushing.run { try SubnormalFlushing.run { throw Failure() } } }
        #expect(!SubnormalFlushing.isActive)
    }

    @Test func sha256MatchesStandardVectors() {
        #expect(SHA256.hex(SHA256.hash(Array("".utf8))) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        let long = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
        #expect(SHA256.hex(SHA256.hash(Array(long.utf8))) == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
        #expect(SHA256.hex(SHA256.hash([UInt8](repeating: 0x61, count: 1_000_000))) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}

@Suite struct BLASKernelSelectionTests {
    @Test func cpuFlagsAreReadFromTheFirstFlagsLine() {
        let avx512 = CPUFeatures(cpuinfo: "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma avx512f avx512dq avx512bw avx512vl\nflags\t: sse2\n")
        #expect(avx512.avx512 && avx512.avx2 && avx512.openBLASCore == "SkylakeX")
        let partial = CPUFeatures(cpuinfo: "flags\t\t: avx2 fma avx512f\n")  // no BW/DQ/VL: not SkylakeX's kernels
        #expect(!partial.avx512 && partial.openBLASCore == "Haswell")
        let old = CPUFeatures(cpuinfo: "flags\t\t: fpu sse2 sse3 avx2\n")  // AVX2 without FMA
        #expect(old.openBLASCore == nil)
        #expect(CPUFeatures(cpuinfo: "").openBLASCore == nil)
    }

    @Test func theFallbackKernelIsReplacedWhenTheCPUHasBetter() {
        let s = BLAS.kernelSelection
        #expect(BLAS.coreName == s.core)
        if s.detected == "Prescott", s.correction != nil {
            #expect(s.core == CPUFeatures.current.openBLASCore, "\(s)")
        }
        // On this project's machines (AVX-512, unknown to OpenBLAS 0.3.21) the SSE3 fallback must not stay.
        if CPUFeatures.current.openBLASCore != nil, ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil {
            #expect(s.core != "Prescott", "\(s)")
        }
        // Products still agree with a plain loop after the switch.
        let a: [Float] = [1, 2, 3, 4, 5, 6], b: [Float] = [1, 0, 0, 1, 1, 1]
        var c = [Float](repeating: 0, count: 4)
        BLAS.gemm(transposeA: false, transposeB: false, m: 2, n: 2, k: 3, a: a, b: b, c: &c)
        #expect(c == [4, 5, 10, 11])
    }
}

@Suite struct TrainingKernelTests {
    @Test func rowGatherCopiesTheChosenRowsInOrder() {
        let m: [Float] = [0, 1, 2, 10, 11, 12, 20, 21, 22]
        #expect(RowGather.gather(m, width: 3, rows: [2, 0, 2]) == [20, 21, 22, 0, 1, 2, 20, 21, 22])
        #expect(RowGather.gather(m, width: 3, rows: [Int]()) == [])
        #expect(RowGather.gather([UInt32](), width: 0, rows: [0, 1]) == [])
        #expect(RowGather.gather(m, width: 1, rows: [8]) == [22])
    }

    @Test func rowSumsEqualAPlainLeftToRightLoopToTheBit() {
        for rows in [0, 1, 3, 4, 5, 9] {
            let cols = 37
            let x = randomArray(rows * cols, seed: UInt64(rows + 1), scale: 1000)
            var sums = [Float](repeating: -1, count: rows)
            x.withUnsafeBufferPointer { DenseLayer.sumRows($0.baseAddress!, rows: rows, cols: cols, into: &sums) }
            let plain = (0..<rows).map { r in (0..<cols).reduce(Float(0)) { $0 + x[r * cols + $1] } }
            #expect(sums.map(\.bitPattern) == plain.map(\.bitPattern), "rows \(rows)")
        }
    }

    @Test func halfRoundTripInPlaceEqualsNarrowThenWidenAndFlagsOverflow() {
        let scale: Float = 1024
        var g = randomArray(4096, seed: 9, scale: 40) + [0, -0, 1e-9, 65504, -65504]
        let expected = LossScaler.unscale(LossScaler.toHalf(g)!, scale: scale)
        #expect(LossScaler.roundTripThroughHalf(&g, scale: scale))
        #expect(g.map(\.bitPattern) == expected.map(\.bitPattern))
        var over: [Float] = [1, 70_000]
        #expect(!LossScaler.roundTripThroughHalf(&over, scale: scale))
        var nan: [Float] = [.nan]
        #expect(!LossScaler.roundTripThroughHalf(&nan, scale: scale))
    }

    @Test func reluBackwardZeroesExactlyTheInactiveOutputs() {
        var grad: [Float] = [1, 2, 3, 4, 5]
        let out: [Float] = [0.5, 0, -1, 2, -0]
        grad.withUnsafeMutableBufferPointer { g in out.withUnsafeBufferPointer { Activation.relu.backward(g.baseAddress!, outputs: $0.baseAddress!, count: 5) } }
        #expect(grad == [1, 0, 0, 4, 0])
    }
}
