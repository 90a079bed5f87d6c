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
        // v * 0 is 0 for finite v and NaN for NaN or ±inf, so the sum is 0 exactly when all
        // values are finite: a branch-free pass that vectorises. The slow path names the culprit.
        var sum: Float = 0
        for v in rows { sum += v * 0 }
        if sum == 0 { return }
        for (i, v) in rows.enumerated() where !v.isFinite {
            throw MLError(.nonFiniteInput, "row \(i / max(width, 1)), feature \(i % max(width, 1)) is \(v)")
        }
    }
}
