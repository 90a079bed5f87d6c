// Copying chosen rows of a batch-major matrix into a new one, in the chosen order, and runs
// of values from one array into another.

public enum RowGather {
    /// Rows `indices` (each `width` values) of the batch-major `source`, in that order.
    /// One copy per row through raw buffers: a training round gathers every mini-batch this
    /// way, and appending array slices row by row cost a tenth of the round.
    /// - Precondition: every index is in 0..<(source.count / width).
    public static func gather<T: BitwiseCopyable>(_ source: [T], width: Int, rows indices: some Collection<Int>) -> [T] {
        guard width > 0 else { return [] }
        let rowCount = source.count / width
        return [T](unsafeUninitializedCapacity: indices.count * width) { out, initialized in
            source.withUnsafeBufferPointer { src in
                var at = 0
                for i in indices {
                    precondition(i >= 0 && i < rowCount, "row \(i) of \(rowCount)")
                    (out.baseAddress! + at).initialize(from: src.baseAddress! + i * width, count: width)
                    at += width
                }
            }
            initialized = indices.count * width
        }
    }

    /// Copies `source[range]` into `target` from `offset` on, in one move (row copies between
    /// feature batches and training memories are hot: element-wise copies with bounds checks
    /// cost most of their time).
    /// - Precondition: `range` lies in `source` and `offset..<(offset + range.count)` in `target`.
    public static func copy<T: BitwiseCopyable>(_ source: [T], _ range: Range<Int>, into target: inout [T], at offset: Int) {
        precondition(range.lowerBound >= 0 && range.upperBound <= source.count && offset >= 0 && offset + range.count <= target.count,
                     "copying \(range) of \(source.count) values to \(offset) of \(target.count)")
        guard !range.isEmpty else { return }
        source.withUnsafeBufferPointer { src in
            target.withUnsafeMutableBufferPointer { dst in
                (dst.baseAddress! + offset).update(from: src.baseAddress! + range.lowerBound, count: range.count)
            }
        }
    }
}
