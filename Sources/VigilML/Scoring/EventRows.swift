// The array forms of the scoring calls: events `events` of batch-major rows and their slots of
// an output array, checked and lent to the pointer-taking call as buffers (no copy).

/// Lends the rows of `events` (each `width` values of `rows`) and `outputs[events]` to `body`;
/// throws `.shapeMismatch` when either array is too small.
func withEventRows<Output, Result>(_ rows: [Float], width: Int, events: Range<Int>, outputs: inout [Output],
                                   _ body: (UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Output>) throws -> Result) throws -> Result {
    guard events.lowerBound >= 0, rows.count >= events.upperBound * width, outputs.count >= events.upperBound else {
        throw MLError(.shapeMismatch, "arrays too small for events \(events)")
    }
    return try rows.withUnsafeBufferPointer { r in
        try outputs.withUnsafeMutableBufferPointer { o in
            try body(UnsafeBufferPointer(rebasing: r[(events.lowerBound * width)..<(events.upperBound * width)]),
                     UnsafeMutableBufferPointer(rebasing: o[events]))
        }
    }
}
