// Copying chosen rows of a batch-major matrix into a new one, in the chosen order.

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
}
