// Dynamic loss scaling for gradients kept in half precision.

/// Scales the loss before backward so small gradients survive Float16 storage; on an
/// overflow (a non-finite half gradient) the step is skipped and the scale halved; after
/// `growthInterval` clean steps in a row the scale doubles.
public struct LossScaler: Sendable, Equatable {
    public struct Configuration: Sendable, Equatable {
        /// Starting scale. Default: 1024.
        public var initialScale: Float = 1024
        /// Clean steps before doubling. Default: 200.
        public var growthInterval: Int = 200
        /// Bounds of the scale. Default: 1 ... 2^24.
        public var minimumScale: Float = 1
        public var maximumScale: Float = 16_777_216
        public init() {}
    }

    public let configuration: Configuration
    public internal(set) var scale: Float
    public internal(set) var cleanSteps = 0
    public internal(set) var skippedSteps = 0

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        scale = configuration.initialScale
    }

    /// Records the outcome of one step; returns true when its gradients may be applied.
    public mutating func record(overflow: Bool) -> Bool {
        if overflow {
            scale = max(scale / 2, configuration.minimumScale)
            cleanSteps = 0
            skippedSteps += 1
            return false
        }
        cleanSteps += 1
        if cleanSteps >= configuration.growthInterval {
            scale = min(scale * 2, configuration.maximumScale)
            cleanSteps = 0
        }
        return true
    }

    /// Rounds scaled Float32 gradients to Float16 (the stored precision). Returns nil on
    /// overflow (any value beyond ±65504 or non-finite).
    static func toHalf(_ gradient: [Float]) -> [Float16]? {
        var out = [Float16](repeating: 0, count: gradient.count)
        let finite = out.withUnsafeMutableBufferPointer { out in
            gradient.withUnsafeBufferPointer { g in
                for i in g.indices {
                    let h = HalfPrecision.narrow(g[i])
                    if !h.isFinite { return false }
                    out[i] = h
                }
                return true
            }
        }
        return finite ? out : nil
    }

    /// `unscale(toHalf(gradient), scale)` in place and in one pass, without the half array:
    /// each value is rounded to Float16 as stored, widened and unscaled. Returns false on
    /// overflow (any value beyond ±65504 or non-finite); `gradient` is then partly rewritten
    /// and must be discarded, as the step it belongs to is skipped.
    static func roundTripThroughHalf(_ gradient: inout [Float], scale: Float) -> Bool {
        let inverse = 1 / scale
        return HalfPrecision.table.withUnsafeBufferPointer { t in
            gradient.withUnsafeMutableBufferPointer { g in
                for i in g.indices {
                    let h = HalfPrecision.narrow(g[i])
                    if !h.isFinite { return false }
                    g[i] = t[Int(h.bitPattern)] * inverse
                }
                return true
            }
        }
    }

    /// Widens half gradients and removes the scale.
    static func unscale(_ gradient: [Float16], scale: Float) -> [Float] {
        let inverse = 1 / scale
        var out = [Float](repeating: 0, count: gradient.count)
        HalfPrecision.table.withUnsafeBufferPointer { t in
            gradient.withUnsafeBufferPointer { g in
                out.withUnsafeMutableBufferPointer { out in
                    for i in g.indices { out[i] = t[Int(g[i].bitPattern)] * inverse }
                }
            }
        }
        return out
    }
}
