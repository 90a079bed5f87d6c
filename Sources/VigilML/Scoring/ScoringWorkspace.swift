// Scratch memory for scoring, owned by one scoring thread and reused for every batch.

/// Buffers a scoring call needs, grown on demand and then reused, so scoring a batch
/// allocates nothing once the workspace has seen the largest batch.
///
/// Not Sendable on purpose: each scoring thread or task owns one.
public final class ScoringWorkspace {
    enum Slot: Int, CaseIterable {
        case input, ping, pong, scratch, chainedCodes, embedding, reconstruction, classifierInput, gradient, gradientOut
    }

    private var pointers: [UnsafeMutablePointer<Float>]
    private var capacities: [Int]

    public init() {
        pointers = Slot.allCases.map { _ in UnsafeMutablePointer<Float>.allocate(capacity: 1) }
        capacities = Slot.allCases.map { _ in 1 }
    }

    deinit {
        for p in pointers { p.deallocate() }
    }

    /// A buffer of at least `count` floats; contents are unspecified. Valid until the next
    /// call with the same slot and a larger count.
    func buffer(_ slot: Slot, count: Int) -> UnsafeMutablePointer<Float> {
        let i = slot.rawValue
        if capacities[i] < count {
            pointers[i].deallocate()
            let capacity = max(count, capacities[i] * 2)
            pointers[i] = .allocate(capacity: capacity)
            capacities[i] = capacity
        }
        return pointers[i]
    }

    /// Runs `layers` over x (feature-major, n columns), ping-ponging between two buffers;
    /// returns the buffer holding the last layer's output.
    func forward(_ layers: ArraySlice<PackedLayer>, input x: UnsafePointer<Float>, n: Int) -> UnsafeMutablePointer<Float> {
        // Plain loops, not map/max: this runs per batch and must not allocate.
        var widest = 1, scratchCount = 1
        for layer in layers {
            widest = max(widest, layer.outputs)
            scratchCount = max(scratchCount, layer.scratchCount(events: n))
        }
        let ping = buffer(.ping, count: widest * n)
        let pong = buffer(.pong, count: widest * n)
        let scratch = buffer(.scratch, count: scratchCount)
        let chained = buffer(.chainedCodes, count: scratchCount)
        var source = UnsafePointer(x)
        var target = ping
        // Whether the current layer's input is already coded, and where (scratch or chained).
        var codedIn: UnsafeMutablePointer<Float>?
        var i = layers.startIndex
        while i < layers.endIndex {
            let layer = layers[i]
            guard case .int8(let m) = layer.storage, layer.activation == .relu || layer.activation == .identity else {
                layer.forward(source, n: n, into: target, scratch: scratch)
                source = UnsafePointer(target)
                target = target == ping ? pong : ping
                i += 1
                continue
            }
            // Consecutive INT8 layers hand each other codes, not floats: the next layer's
            // requantisation is fused into this one's product (one pass per layer, no float
            // activations written and read back in between).
            let input = codedIn ?? scratch
            let relu = layer.activation == .relu
            input.withMemoryRebound(to: UInt8.self, capacity: m.codeBytes(events: n)) { codes in
                if codedIn == nil { m.quantize(source, n: n, into: codes) }
                layer.bias.withUnsafeBufferPointer { bias in
                    if Int8Kernel.chainsLayers, i + 1 < layers.endIndex, case .int8(let next) = layers[i + 1].storage, m.chains(into: next) {
                        let output = input == scratch ? chained : scratch
                        output.withMemoryRebound(to: UInt8.self, capacity: next.codeBytes(events: n)) {
                            m.multiply(codes: codes, n: n, bias: bias.baseAddress!, relu: relu, requantizingFor: next, into: $0)
                        }
                        codedIn = output
                    } else {
                        m.multiply(codes: codes, n: n, bias: bias.baseAddress!, relu: relu, into: target)
                        codedIn = nil
                    }
                }
            }
            if codedIn == nil {
                source = UnsafePointer(target)
                target = target == ping ? pong : ping
            }
            i += 1
        }
        return UnsafeMutablePointer(mutating: source)
    }
}
