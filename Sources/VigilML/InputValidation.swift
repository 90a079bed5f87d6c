// Shape and finiteness checks at every public entry point: bad numbers stop here,
// before they can reach a score or a weight.

enum InputValidation {
    /// Throws unless `rows` holds exactly count×width finite values.
    static func check(rows: [Float], count: Int, width: Int) throws {
        try rows.withUnsafeBufferPointer { try check(rows: $0, count: count, width: width) }
    }

    static func check(rows: UnsafeBufferPointer<Float>, count: Int, width: Int) throws {
        guard count >= 0, rows.count == count * width else {
            throw MLError(.shapeMismatch, "expected \(count) rows × \(width) values, got \(rows.count) values")
        }
        // A value is NaN or ±inf exactly when its exponent bits are all ones; adding one to
        // the exponent field then carries into the sign bit. OR-ing those carries is a
        // branch-free integer pass that vectorises (a float sum would be a serial chain).
        // The slow path names the culprit.
        var flags: UInt32 = 0
        rows.withMemoryRebound(to: UInt32.self) { bits in
            for b in bits { flags |= (b & 0x7F80_0000) &+ 0x0080_0000 }
        }
        if flags & 0x8000_0000 == 0 { return }
        for (i, v) in rows.enumerated() where !v.isFinite {
            throw MLError(.nonFiniteInput, "row \(i / max(width, 1)), feature \(i % max(width, 1)) is \(v)")
        }
    }
}
