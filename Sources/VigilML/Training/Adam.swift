// Adam with bias correction, for one parameter array at a time.
import Foundation

/// Adam's hyper-parameters.
public struct AdamConfiguration: Sendable, Equatable {
    /// Step size. Default: 0.001.
    public var learningRate: Float = 1e-3
    /// First-moment decay. Default: 0.9.
    public var beta1: Float = 0.9
    /// Second-moment decay. Default: 0.999.
    public var beta2: Float = 0.999
    /// Denominator guard. Default: 1e-8.
    public var epsilon: Float = 1e-8
    public init() {}
    public init(learningRate: Float) { self.learningRate = learningRate }
}

/// Moment estimates for one parameter array.
struct AdamState: Sendable {
    var m: [Float]
    var v: [Float]
    var step: Int = 0

    init(count: Int) {
        m = [Float](repeating: 0, count: count)
        v = [Float](repeating: 0, count: count)
    }

    /// One Adam step over all parameters; entries where `mask` is 0 are held at zero.
    mutating func update(_ params: inout [Float], gradient: [Float], mask: [Float]?, config: AdamConfiguration) {
        step += 1
        let c1 = 1 - Float(pow(Double(config.beta1), Double(step)))
        let c2 = 1 - Float(pow(Double(config.beta2), Double(step)))
        let lr = config.learningRate * c2.squareRoot() / c1
        let b1 = config.beta1, b2 = config.beta2, eps = config.epsilon
        precondition(gradient.count == params.count && m.count == params.count && (mask?.count ?? params.count) == params.count,
                     "Adam update over \(params.count) parameters with \(gradient.count) gradients")
        // Unchecked buffers: this runs over every weight at every training step.
        params.withUnsafeMutableBufferPointer { p in
            m.withUnsafeMutableBufferPointer { m in
                v.withUnsafeMutableBufferPointer { v in
                    gradient.withUnsafeBufferPointer { gradient in
                        // Eight lanes at a time: the same operations in the same order per
                        // element, so the same bits as the scalar loop, which the compiler
                        // does not vectorise (its square root keeps a libm fallback branch).
                        let lanes = 8, whole = p.count / lanes * lanes
                        let ob1 = 1 - b1, ob2 = 1 - b2
                        typealias Lanes = SIMD8<Float>
                        let stride = MemoryLayout<Float>.stride
                        let gp = UnsafeRawPointer(gradient.baseAddress!), mp = UnsafeMutableRawPointer(m.baseAddress!)
                        let vp = UnsafeMutableRawPointer(v.baseAddress!), pp = UnsafeMutableRawPointer(p.baseAddress!)
                        var i = 0
                        while i < whole {
                            let at = i * stride
                            let g = gp.loadUnaligned(fromByteOffset: at, as: Lanes.self)
                            let mi = b1 * mp.loadUnaligned(fromByteOffset: at, as: Lanes.self) + ob1 * g
                            let vi = b2 * vp.loadUnaligned(fromByteOffset: at, as: Lanes.self) + ob2 * g * g
                            let pi = pp.loadUnaligned(fromByteOffset: at, as: Lanes.self) - lr * mi / (vi.squareRoot() + eps)
                            mp.storeBytes(of: mi, toByteOffset: at, as: Lanes.self)
                            vp.storeBytes(of: vi, toByteOffset: at, as: Lanes.self)
                            pp.storeBytes(of: pi, toByteOffset: at, as: Lanes.self)
                            i += lanes
                        }
                        while i < p.count {
                            let g = gradient[i]
                            m[i] = b1 * m[i] + ob1 * g
                            v[i] = b2 * v[i] + ob2 * g * g
                            p[i] -= lr * m[i] / (v[i].squareRoot() + eps)
                            i += 1
                        }
                    }
                }
            }
            if let mask { mask.withUnsafeBufferPointer { mask in for i in 0..<p.count where mask[i] == 0 { p[i] = 0 } } }
        }
    }

    /// Lazy Adam for embedding tables: only `rows` (each `width` wide) are touched, so the
    /// cost follows the active sparse inputs, not the table size.
    mutating func update(_ params: inout [Float], gradient: [Float], rows: [Int], width: Int, config: AdamConfiguration) {
        step += 1
        let c1 = 1 - Float(pow(Double(config.beta1), Double(step)))
        let c2 = 1 - Float(pow(Double(config.beta2), Double(step)))
        let lr = config.learningRate * c2.squareRoot() / c1
        let b1 = config.beta1, b2 = config.beta2, eps = config.epsilon, ob1 = 1 - b1, ob2 = 1 - b2
        precondition(gradient.count == rows.count * width && m.count == params.count, "lazy Adam update with \(gradient.count) gradients for \(rows.count) rows")
        // Raw buffers (rows are checked against the table once per row): this touches every
        // active embedding of every step. The same operations in the same order as before.
        params.withUnsafeMutableBufferPointer { p in
            m.withUnsafeMutableBufferPointer { m in
                v.withUnsafeMutableBufferPointer { v in
                    gradient.withUnsafeBufferPointer { gradient in
                        for (slot, row) in rows.enumerated() {
                            precondition(row >= 0 && (row + 1) * width <= p.count, "table row \(row) out of range")
                            for k in 0..<width {
                                let i = row * width + k
                                let g = gradient[slot * width + k]
                                m[i] = b1 * m[i] + ob1 * g
                                v[i] = b2 * v[i] + ob2 * g * g
                                p[i] -= lr * m[i] / (v[i].squareRoot() + eps)
                            }
                        }
                    }
                }
            }
        }
    }

    /// The values a lazy `update` of `rows` will change (parameters and moments), for `restore`.
    func save(rows: [Int], width: Int, params: [Float]) -> SavedRows {
        var saved = SavedRows(rows: rows, width: width, step: step)
        // Filled through raw buffers: three appends per value were most of a training step's
        // bookkeeping. Same values, same order.
        saved.values = [Float](unsafeUninitializedCapacity: rows.count * width * 3) { out, initialized in
            params.withUnsafeBufferPointer { p in
                m.withUnsafeBufferPointer { m in
                    v.withUnsafeBufferPointer { v in
                        var k = 0
                        for row in rows {
                            for i in (row * width)..<((row + 1) * width) {
                                out[k] = p[i]
                                out[k + 1] = m[i]
                                out[k + 2] = v[i]
                                k += 3
                            }
                        }
                    }
                }
            }
            initialized = rows.count * width * 3
        }
        return saved
    }

    /// Undoes a lazy `update` of the rows `saved` was taken of.
    mutating func restore(_ saved: SavedRows, params: inout [Float]) {
        step = saved.step
        var k = 0
        for row in saved.rows {
            for i in (row * saved.width)..<((row + 1) * saved.width) {
                params[i] = saved.values[k]; m[i] = saved.values[k + 1]; v[i] = saved.values[k + 2]
                k += 3
            }
        }
    }

    struct SavedRows {
        let rows: [Int]
        let width: Int
        let step: Int
        var values: [Float] = []
    }

    /// Forgets the moments of entries that were just regrown, so they start fresh.
    mutating func reset(at indices: [Int]) {
        for i in indices { m[i] = 0; v[i] = 0 }
    }
}
