// Progressive pruning with periodic mask refresh and regrowth.
import Foundation

/// When and how far the classifier's layers are pruned.
///
/// Sparsity follows the cubic ramp s(t) = target · (1 − (1 − (t − start)/(end − start))³),
/// which prunes fast while many weights are redundant and gently near the target. Masks
/// are refreshed every `updateInterval` steps, also after `endStep`, so they keep
/// following drifting data: the least important kept weights (accumulated |w · g|) are
/// dropped and the most promising pruned weights (accumulated |g|) regrown at zero.
public struct SparsitySchedule: Sendable, Equatable {
    /// Final fraction of pruned weights in each hidden layer; 0 disables pruning. Default: 0.7.
    public var target: Double = 0.7
    /// Step of the first pruning. Default: 50.
    public var startStep: Int = 50
    /// Step at which `target` is reached. Default: 500.
    public var endStep: Int = 500
    /// Steps between mask refreshes. Default: 25.
    public var updateInterval: Int = 25
    /// Fraction of kept weights swapped out and regrown at each refresh. Default: 0.1.
    public var regrowFraction: Double = 0.1

    public init() {}
    public init(target: Double, startStep: Int, endStep: Int, updateInterval: Int, regrowFraction: Double = 0.1) {
        self.target = target
        self.startStep = startStep
        self.endStep = endStep
        self.updateInterval = updateInterval
        self.regrowFraction = regrowFraction
    }

    /// No pruning.
    public static let dense = SparsitySchedule(target: 0, startStep: 0, endStep: 0, updateInterval: 1, regrowFraction: 0)

    /// The sparsity the schedule asks for after `step` steps.
    public func sparsity(at step: Int) -> Double {
        guard target > 0, step >= startStep else { return 0 }
        guard endStep > startStep, step < endStep else { return target }
        let progress = Double(step - startStep) / Double(endStep - startStep)
        return target * (1 - pow(1 - progress, 3))
    }

    /// Whether the masks are refreshed after `step` steps.
    public func refreshes(at step: Int) -> Bool {
        target > 0 && step >= startStep && updateInterval > 0 && (step - startStep) % updateInterval == 0
    }

    func validate() throws {
        guard (0..<1).contains(target), startStep >= 0, endStep >= startStep, updateInterval > 0,
              (0..<1).contains(regrowFraction) else {
            throw MLError(.invalidConfiguration, "sparsity schedule out of range: \(self)")
        }
    }
}

/// Per-layer accumulators between two mask refreshes.
struct SparsityState: Sendable, Equatable {
    var importance: [Float]
    var gradientMagnitude: [Float]

    init(count: Int) {
        importance = [Float](repeating: 0, count: count)
        gradientMagnitude = [Float](repeating: 0, count: count)
    }

    mutating func accumulate(weights: [Float], gradient: [Float]) {
        precondition(weights.count == importance.count && gradient.count == importance.count, "accumulating a layer of another shape")
        // Raw buffers: element-wise array mutation kept a uniqueness check per weight (every step).
        weights.withUnsafeBufferPointer { w in
            gradient.withUnsafeBufferPointer { g in
                importance.withUnsafeMutableBufferPointer { importance in
                    gradientMagnitude.withUnsafeMutableBufferPointer { magnitude in
                        for i in 0..<w.count {
                            importance[i] += abs(w[i] * g[i])
                            magnitude[i] += abs(g[i])
                        }
                    }
                }
            }
        }
    }

    /// Refreshes `layer`'s mask to the given sparsity. Returns the indices regrown (their
    /// optimiser moments must be reset).
    mutating func refresh(_ layer: inout DenseLayer, sparsity: Double, regrowFraction: Double) -> [Int] {
        let total = layer.weights.count
        var mask = layer.mask ?? [Float](repeating: 1, count: total)
        let targetActive = max(1, Int((Double(total) * (1 - sparsity)).rounded()))
        let active = (0..<total).filter { mask[$0] != 0 }
        let inactive = (0..<total).filter { mask[$0] == 0 }
        let regrow = min(Int((Double(targetActive) * regrowFraction).rounded()), inactive.count)
        let drop = max(0, active.count - targetActive + regrow)
        // Ties broken by index so the result is deterministic.
        let dropped = active.sorted { (importance[$0], $0) < (importance[$1], $1) }.prefix(drop)
        for i in dropped { mask[i] = 0; layer.weights[i] = 0 }
        let grown = Array(inactive.sorted { (gradientMagnitude[$0], $1) > (gradientMagnitude[$1], $0) }.prefix(regrow))
        for i in grown { mask[i] = 1; layer.weights[i] = 0 }
        layer.mask = mask
        importance = [Float](repeating: 0, count: total)
        gradientMagnitude = [Float](repeating: 0, count: total)
        return grown
    }
}
