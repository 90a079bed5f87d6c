// Compressed sparse rows: the storage of pruned weight matrices at scoring time.

/// A rows×cols sparse matrix in CSR form with Float32 or Float16 values.
///
/// `rowOffsets[r]..<rowOffsets[r+1]` index `columns` and the values of row `r`. Column
/// indices are 16-bit (at most 65,536 columns): at 70% sparsity with Float16 values that is
/// 1.2 bytes per original weight instead of 4.
/// Products accumulate in Float32 whatever the storage precision.
public struct CSRMatrix: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    public let rowOffsets: [Int32]
    public let columns: [UInt16]
    /// Values when `precision == .float32`, else empty.
    public let values: [Float]
    /// Values when `precision == .float16`, else empty.
    public let halfValues: [Float16]
    public let precision: WeightPrecision

    /// Keeps the entries of the rows×cols row-major `dense` where `mask` (same shape) is
    /// non-zero; with no mask, keeps the non-zero entries.
    public init(dense: [Float], rows: Int, cols: Int, mask: [Float]? = nil, precision: WeightPrecision = .float32) {
        precondition(dense.count == rows * cols && (mask?.count ?? dense.count) == dense.count && cols <= 65_536)
        var offsets: [Int32] = [0]
        var cols32: [UInt16] = []
        var vals: [Float] = []
        offsets.reserveCapacity(rows + 1)
        for r in 0..<rows {
            for c in 0..<cols {
                let i = r * cols + c
                let keep = mask.map { $0[i] != 0 } ?? (dense[i] != 0)
                if keep {
                    cols32.append(UInt16(c))
                    vals.append(dense[i])
                }
            }
            offsets.append(Int32(cols32.count))
        }
        self.rows = rows
        self.cols = cols
        self.rowOffsets = offsets
        self.columns = cols32
        self.precision = precision
        self.values = precision == .float32 ? vals : []
        self.halfValues = precision == .float16 ? HalfPrecision.narrow(vals) : []
    }

    public var nonZeroCount: Int { columns.count }

    /// Bytes held by the index and value arrays.
    public var byteCount: Int {
        rowOffsets.count * 4 + columns.count * 2 + values.count * 4 + halfValues.count * 2
    }

    /// Y = A · X, where X is cols×n and Y is rows×n, both row-major (feature-major
    /// activations: each row holds one feature for the whole batch). Y is overwritten.
    ///
    /// Each stored entry costs one axpy over the batch, so only active weights cost work.
    /// The batch is processed in tiles of 128 columns so the tile of X stays in L1.
    func multiply(_ x: UnsafePointer<Float>, n: Int, into y: UnsafeMutablePointer<Float>) {
        let tile = 128
        rowOffsets.withUnsafeBufferPointer { off in
            columns.withUnsafeBufferPointer { colIdx in
                values.withUnsafeBufferPointer { v in
                    halfValues.withUnsafeBufferPointer { hv in
                        HalfPrecision.table.withUnsafeBufferPointer { t in
                            let half = precision == .float16
                            if n == 1 {
                                // One event: a gather-dot per row beats axpys of length 1.
                                for r in 0..<rows {
                                    var sum: Float = 0
                                    for e in Int(off[r])..<Int(off[r + 1]) {
                                        sum += (half ? t[Int(hv[e].bitPattern)] : v[e]) * x[Int(colIdx[e])]
                                    }
                                    y[r] = sum
                                }
                                return
                            }
                            var start = 0
                            while start < n {
                                let width = min(tile, n - start)
                                for r in 0..<rows {
                                    let yr = y + r * n + start
                                    yr.update(repeating: 0, count: width)
                                    var e = Int(off[r])
                                    let end = Int(off[r + 1])
                                    @inline(__always) func weight(_ e: Int) -> Float { half ? t[Int(hv[e].bitPattern)] : v[e] }
                                    @inline(__always) func column(_ e: Int) -> UnsafePointer<Float> { x + Int(colIdx[e]) * n + start }
                                    // Four entries per pass: one load and store of y per four
                                    // multiply-adds instead of per one (the loop is L1-bound).
                                    while e + 4 <= end {
                                        let w0 = weight(e), w1 = weight(e + 1), w2 = weight(e + 2), w3 = weight(e + 3)
                                        let x0 = column(e), x1 = column(e + 1), x2 = column(e + 2), x3 = column(e + 3)
                                        for j in 0..<width { yr[j] += (w0 * x0[j] + w1 * x1[j]) + (w2 * x2[j] + w3 * x3[j]) }
                                        e += 4
                                    }
                                    while e < end {
                                        let w = weight(e), xr = column(e)
                                        for j in 0..<width { yr[j] += w * xr[j] }
                                        e += 1
                                    }
                                }
                                start += width
                            }
                        }
                    }
                }
            }
        }
    }

    /// y = Aᵀ · g for one column vector g of length `rows`; y (length `cols`) is overwritten.
    func multiplyTransposed(_ g: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        y.update(repeating: 0, count: cols)
        for r in 0..<rows {
            let gr = g[r]
            for e in Int(rowOffsets[r])..<Int(rowOffsets[r + 1]) {
                let w = precision == .float32 ? values[e] : Float(halfValues[e])
                y[Int(columns[e])] += w * gr
            }
        }
    }
}
