// What the group's learner took from the training topic, in order, so that a published
// version can say exactly how far into the topic it has learnt (the positions stored with it
// in `learner_positions`) and a replayed or twice-sent example is not learnt twice.

/// The learner's account of one tenure's consumption of the training topic.
struct ExampleLedger {
    /// One message taken from the topic: learnt (handed to the trainer) or skipped (a
    /// duplicate, or undecodable).
    private struct Entry {
        var partition: Int32
        var nextOffset: Int64
        var learnt: Bool
    }

    /// Positions covering everything before `entries` (the tenure's start, then each publication's).
    private(set) var baseline: [Int32: Int64]
    private var entries: [Entry] = []
    /// Examples handed to the trainer before `entries` (the trainer's count of labels learnt
    /// at the last trim).
    private var learntBefore = 0
    /// Label ids of recently taken examples, oldest first, and the same as a set.
    private var recentOrder: [Int64] = []
    private var recentHead = 0
    private var recent: Set<Int64> = []
    let memory: Int

    /// - Parameters:
    ///   - start: where the tenure resumes the topic (the live version's stored positions).
    ///   - memory: label ids remembered for recognising duplicates.
    init(start: [Int32: Int64], memory: Int = 1 << 20) {
        baseline = start
        self.memory = max(1, memory)
    }

    /// Whether the example of `labelID` was taken before (sent twice, or by two members that
    /// both scored the event): the caller skips it.
    func hasTaken(labelID: Int64) -> Bool { recent.contains(labelID) }

    /// Remembers the label id of an example an earlier tenure learnt (read back before the
    /// start), so that a copy of it after the start is skipped as a duplicate.
    mutating func recall(labelID: Int64) { remember(labelID) }

    /// Takes the message at `offset` of `partition`, holding the example of `labelID`, to be
    /// learnt next.
    mutating func take(labelID: Int64, partition: Int32, offset: Int64) {
        remember(labelID)
        entries.append(Entry(partition: partition, nextOffset: offset + 1, learnt: true))
    }

    /// Skips a message that holds no example to learn (a duplicate, or undecodable).
    mutating func skip(partition: Int32, offset: Int64) {
        entries.append(Entry(partition: partition, nextOffset: offset + 1, learnt: false))
    }

    /// The positions of a model that has learnt the first `learnt` examples of the tenure
    /// (the trainer's labels-learnt count): every message up to the next example to learn,
    /// skipped ones included.
    func positions(afterLearning learnt: Int) -> [Int32: Int64] {
        var out = baseline
        var count = learntBefore
        for entry in entries {
            if entry.learnt {
                guard count < learnt else { break }
                count += 1
            }
            out[entry.partition] = entry.nextOffset
        }
        return out
    }

    /// A version that learnt the first `learnt` examples was published: what it covers is
    /// folded into the baseline.
    mutating func published(afterLearning learnt: Int) {
        guard learnt > learntBefore else { return }
        var count = learntBefore, cut = 0
        for entry in entries {
            if entry.learnt {
                guard count < learnt else { break }
                count += 1
            }
            baseline[entry.partition] = entry.nextOffset
            cut += 1
        }
        entries.removeFirst(cut)
        learntBefore = count
    }

    /// Examples taken and not yet covered by a publication.
    var unpublished: Int { entries.count }

    private mutating func remember(_ labelID: Int64) {
        recent.insert(labelID)
        if recentOrder.count < memory {
            recentOrder.append(labelID)
        } else {
            recent.remove(recentOrder[recentHead])
            recentOrder[recentHead] = labelID
            recentHead = (recentHead + 1) % memory
        }
    }
}
