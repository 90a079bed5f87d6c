// Labels waiting for their delay to pass: a binary min-heap ordered by (due time, sequence).

struct LabelQueue: Sendable {
    private var heap: [(due: Int64, seq: Int, label: SimulatedLabel)] = []
    private var nextSeq = 0

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    var nextDue: Int64? { heap.first?.due }

    private func less(_ a: Int, _ b: Int) -> Bool {
        heap[a].due != heap[b].due ? heap[a].due < heap[b].due : heap[a].seq < heap[b].seq
    }

    mutating func push(_ label: SimulatedLabel) {
        heap.append((label.timestampMillis, nextSeq, label))
        nextSeq += 1
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard less(i, parent) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> SimulatedLabel? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && less(l, m) { m = l }
            if r < heap.count && less(r, m) { m = r }
            guard m != i else { break }
            heap.swapAt(i, m)
            i = m
        }
        return top.label
    }
}
