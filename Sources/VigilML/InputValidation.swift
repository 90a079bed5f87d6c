// Shape, finiteness and magnitude checks at every public entry point: bad numbers stop
// here, before they can reach a score or a weight.

enum InputValidation {
    /// Largest accepted magnitude (exclusive): 2^20 ≈ 1.05e6. Inputs are standardised
    /// features, so anything this large is a bug upstream; larger values could overflow the
    /// squared reconstruction errors to infinity, which must never reach a score.
    static let maximumMagnitude: Float = 1_048_576

    /// Throws unless `rows` holds exactly count×width finite values below `maximumMagnitude`.
    static func check(rows: [Float], count: Int, width: Int) throws {
        try rows.withUnsafeBufferPointer { try check(rows: $0, count: count, width: width) }
    }

    static func check(rows: UnsafeBufferPointer<Float>, count: Int, width: Int) throws {
        guard count >= 0, rows.count == count * width else {
            throw MLError(.shapeMismatch, "expected \(count) rows × \(width) values, got \(rows.count) values")
        }
        // |v| ≥ 2^20, ±inf and NaN are exactly the values whose biased exponent is ≥ 147;
        // adding 109 to the exponent field then carries into the sign bit. OR-ing those
        // carries is a branch-free integer pass that vectorises (a float comparison chain
        // would not). The slow path names the culprit.
        var flags: UInt32 = 0
        rows.withMemoryRebound(to: UInt32.self) { bits in
            for b in bits { flags |= (b & 0x7F80_0000) &+ 0x3680_0000 }
        }
        if flags & 0x8000_0000 == 0 { return }
        for (i, v) in rows.enumerated() where !v.isFinite || abs(v) >= maximumMagnitude {
            let place = "row \(i / max(width, 1)), feature \(i % max(width, 1))"
            if v.isFinite {
                throw MLError(.inputOutOfRange, "\(place) is \(v); inputs must be standardised features with |value| < 2^20")
            }
            throw MLError(.nonFiniteInput, "\(place) is \(v)")
        }
    }

    /// Last line of defence on outputs: throws `.nonFiniteOutput` if any of `count` values
    /// is NaN or infinite (possible only with pathological weights, since inputs are bounded).
    static func checkOutputs(_ values: UnsafePointer<Float>, count: Int) throws {
        var flags: UInt32 = 0
        values.withMemoryRebound(to: UInt32.self, capacity: count) { bits in
            for i in 0..<count { flags |= (bits[i] & 0x7F80_0000) &+ 0x0080_0000 }
        }
        if flags & 0x8000_0000 != 0 {
            throw MLError(.nonFiniteOutput, "the model produced a non-finite score; discard this batch's results")
        }
    }
}
