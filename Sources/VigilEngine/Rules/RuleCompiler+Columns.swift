// The loops compiled rules run: each node of a rule computes its value for every event of the
// batch in one loop, with the operator chosen once per batch rather than once per event, so
// the loops are branch-light and the compiler can vectorise the numeric ones.
import VigilFeatures

extension RuleCompiler {
    static func constant(_ t: Truth) -> TruthColumnCode {
        { inputs in [Truth](repeating: t, count: inputs.count) }
    }

    static func compare(_ op: RuleExpression.Comparison, _ a: Double, _ b: Double) -> Truth {
        if a.isNaN || b.isNaN { return .unknown }
        return Truth(holds(op, a, b))
    }

    @inline(__always)
    static func holds(_ op: RuleExpression.Comparison, _ a: Double, _ b: Double) -> Bool {
        switch op {
        case .equal: a == b
        case .notEqual: a != b
        case .less: a < b
        case .lessOrEqual: a <= b
        case .greater: a > b
        case .greaterOrEqual: a >= b
        }
    }

    /// `x <op> c` over the batch; a null (NaN) `x` is unknown.
    static func compare(_ op: RuleExpression.Comparison, _ x: @escaping NumberColumnCode, _ c: Double) -> TruthColumnCode {
        if c.isNaN { return { inputs in [Truth](repeating: .unknown, count: inputs.count) } }
        return switch op {
        case .equal: { inputs in against(x(inputs), c, ==) }
        case .notEqual: { inputs in against(x(inputs), c, !=) }
        case .less: { inputs in against(x(inputs), c, <) }
        case .lessOrEqual: { inputs in against(x(inputs), c, <=) }
        case .greater: { inputs in against(x(inputs), c, >) }
        case .greaterOrEqual: { inputs in against(x(inputs), c, >=) }
        }
    }

    @inline(__always)
    private static func against(_ xs: [Double], _ c: Double, _ holds: (Double, Double) -> Bool) -> [Truth] {
        var out = [Truth](repeating: .unknown, count: xs.count)
        for i in 0..<xs.count where !xs[i].isNaN { out[i] = Truth(holds(xs[i], c)) }
        return out
    }

    /// `x <op> y`, both columns.
    static func compare(_ op: RuleExpression.Comparison, _ x: @escaping NumberColumnCode, _ y: @escaping NumberColumnCode) -> TruthColumnCode {
        { inputs in
            let xs = x(inputs), ys = y(inputs)
            var out = [Truth](repeating: .unknown, count: xs.count)
            for i in 0..<xs.count where !xs[i].isNaN && !ys[i].isNaN { out[i] = Truth(holds(op, xs[i], ys[i])) }
            return out
        }
    }

    static func negate(_ x: @escaping NumberColumnCode) -> NumberColumnCode {
        { inputs in x(inputs).map { -$0 } }
    }

    static func not(_ c: @escaping TruthColumnCode) -> TruthColumnCode {
        { inputs in c(inputs).map(\.negated) }
    }

    /// Arithmetic on two columns; NaN (null) propagates, and division by zero is null.
    static func arithmetic(_ op: RuleExpression.Arithmetic, _ a: @escaping NumberColumnCode, _ b: @escaping NumberColumnCode) -> NumberColumnCode {
        { inputs in
            var xs = a(inputs)
            let ys = b(inputs)
            switch op {
            case .add: for i in 0..<xs.count { xs[i] += ys[i] }
            case .subtract: for i in 0..<xs.count { xs[i] -= ys[i] }
            case .multiply: for i in 0..<xs.count { xs[i] *= ys[i] }
            case .divide: for i in 0..<xs.count { xs[i] = ys[i] == 0 ? .nan : xs[i] / ys[i] }
            case .remainder: for i in 0..<xs.count { xs[i] = ys[i] == 0 ? .nan : xs[i].truncatingRemainder(dividingBy: ys[i]) }
            }
            return xs
        }
    }

    static func connect(_ op: RuleExpression.Connective, _ a: @escaping TruthColumnCode, _ b: @escaping TruthColumnCode) -> TruthColumnCode {
        switch op {
        case .and:
            return { inputs in
                var xs = a(inputs)
                let ys = b(inputs)
                for i in 0..<xs.count { xs[i] = Truth.and(xs[i], ys[i]) }
                return xs
            }
        case .or:
            return { inputs in
                var xs = a(inputs)
                let ys = b(inputs)
                for i in 0..<xs.count { xs[i] = Truth.or(xs[i], ys[i]) }
                return xs
            }
        }
    }

    static func isNull(_ x: @escaping NumberColumnCode, negated: Bool) -> TruthColumnCode {
        { inputs in x(inputs).map { Truth($0.isNaN != negated) } }
    }

    static func isNull(_ x: TextOperand, negated: Bool) -> TruthColumnCode {
        switch x {
        case .constant: constant(Truth(negated))
        case .source(let s): { inputs in inputs.hashes(s).nulls.map { Truth($0 != negated) } }
        }
    }

    /// A text field against a constant: hashes first, the strings only when they match.
    static func textEquals(_ s: TextSource, _ c: String, equal: Bool) -> TruthColumnCode {
        let h = StableHash.hash(c)
        return { inputs in
            let column = inputs.hashes(s)
            var out = [Truth](repeating: equal ? .no : .yes, count: inputs.count)
            for i in 0..<inputs.count {
                if column.nulls[i] {
                    out[i] = .unknown
                } else if column.hashes[i] == h, inputs.text(s, i) == c {
                    out[i] = Truth(equal)
                }
            }
            return out
        }
    }

    /// Two text operands of any kind, string by string.
    static func textEquals(_ a: TextOperand, _ b: TextOperand, equal: Bool) -> TruthColumnCode {
        { inputs in
            var out = [Truth](repeating: .unknown, count: inputs.count)
            for i in 0..<inputs.count {
                guard let x = a.value(inputs, i), let y = b.value(inputs, i) else { continue }
                out[i] = Truth((x == y) == equal)
            }
            return out
        }
    }

    /// `x in set`: by the field's hash column when `x` is a field, confirmed by the strings.
    static func membership(_ x: TextOperand, _ set: HashedTextSet, hit: Truth, miss: Truth) -> TruthColumnCode {
        switch x {
        case .source(let s):
            return { inputs in
                let column = inputs.hashes(s)
                var out = [Truth](repeating: miss, count: inputs.count)
                for i in 0..<inputs.count {
                    if column.nulls[i] {
                        out[i] = .unknown
                    } else if set.mayContain(hash: column.hashes[i]), let v = inputs.text(s, i), set.values.contains(v) {
                        out[i] = hit
                    }
                }
                return out
            }
        case .constant(let c):
            return constant(set.values.contains(c) ? hit : miss)
        }
    }

    /// `x in (numbers)`; a null `x` is unknown.
    static func membership(_ x: @escaping NumberColumnCode, _ values: [Double], hit: Truth, miss: Truth) -> TruthColumnCode {
        { inputs in
            let xs = x(inputs)
            var out = [Truth](repeating: miss, count: xs.count)
            for i in 0..<xs.count {
                if xs[i].isNaN { out[i] = .unknown } else if values.contains(xs[i]) { out[i] = hit }
            }
            return out
        }
    }
}
