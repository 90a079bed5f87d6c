// CSV and JSONL input: mappings, truth, and malformed rows reported with their line numbers.
import Testing
import VigilFeatures
@testable import VigilReplay

struct InputReaderTests {
    let csv = """
        Time,V1,V2,Amount,Class
        0,1.5,-2,10.00,0
        1,0.5,oops,5.00,0
        2,0.1,0.2,7.50
        3,0.3,0.4,-1,0
        4,2.5,1.0,99.99,1

        """

    func mapping() throws -> CSVColumnMapping {
        try CSVColumnMapping.parse("id=none,time=Time,time_unit=s,label=Class,amount=Amount,card=none,merchant=none,features=*")
    }

    @Test func malformedCSVRowsAreSkippedWithLineNumbers() throws {
        let path = try Support.temporaryFile("data.csv", csv)
        let input = try ReplayInputReader(mapping: mapping(), onMalformed: .skip).read(events: path)
        #expect(input.events.count == 2)
        #expect(input.problems.map(\.line) == [3, 4, 5])
        #expect(input.problems[0].reason.contains("oops"))
        #expect(input.problems[1].reason.contains("expected 5 fields"))
        #expect(input.problems[2].reason.contains("amount -1 is negative"))
        #expect(input.truth == [.legit, .fraud])
        #expect(input.events[1].eventID == "line-6")
        #expect(input.events[1].timestampMillis == 4000)
        #expect(input.events[1].extraFeature("V1") == 2.5)
        #expect(input.events[1].extraFeature("Time") == nil)
    }

    @Test func malformedCSVRowsAreFatalOnRequest() throws {
        let path = try Support.temporaryFile("data.csv", csv)
        #expect {
            _ = try ReplayInputReader(mapping: mapping(), onMalformed: .fail).read(events: path)
        } throws: { error in
            "\(error)".contains(":3:") && (error as? ReplayError)?.code == .malformedInput
        }
    }

    @Test func genCSVWithTruthAndQuotedFields() throws {
        let text = """
            event_id,ts,card_id,merchant_id,amount,currency,mcc,country,channel,terminal_id,customer_id,fraud,scenario
            e1,2026-01-01T00:00:00Z,c1,"m,1",12.50,EUR,5411,FR,pos,t1,u1,false,legit
            e2,2026-01-01T00:00:01Z,c1,m2,99.00,EUR,5411,FR,pos,t1,u1,true,large_amount
            """
        let path = try Support.temporaryFile("transactions.csv", text)
        let input = try ReplayInputReader().read(events: path)
        #expect(input.problems.isEmpty)
        #expect(input.events.map(\.merchantID) == ["m,1", "m2"])
        #expect(input.truth == [.legit, .fraud])
    }

    @Test func jsonlThroughTheEventContractWithLabelsFile() throws {
        let events = """
            {"event_id":"e1","ts":"2026-01-01T00:00:00Z","card_id":"c1","merchant_id":"m1","amount":10,"currency":"EUR"}
            {"event_id":"e2","ts":"2026-01-01T00:00:01Z","card_id":"c1","merchant_id":"m1","amount":"ten","currency":"EUR"}
            {"event_id":"e3","ts":"2026-01-01T00:00:02Z","card_id":"c2","merchant_id":"m1","amount":20,"currency":"EUR","fraud":true}
            """
        let labels = #"{"event_id":"e1","label":"fraud","ts":"2026-01-02T00:00:00Z"}"# + "\nnot json\n"
        let e = try Support.temporaryFile("transactions.jsonl", events), l = try Support.temporaryFile("labels.jsonl", labels)
        var input = try ReplayInputReader().read(events: e, labels: l)
        #expect(input.events.map(\.eventID) == ["e1", "e3"])
        #expect(input.problems.map(\.line) == [2, 2])
        #expect(input.problems[0].reason.hasPrefix("wrong_type"))
        #expect(input.truth == [.unknown, .fraud])
        #expect(input.labels.count == 1)
        input.resolveTruthFromLabels()
        #expect(input.truth == [.fraud, .fraud])
    }

    @Test func badMappingIsAClearError() {
        #expect(throws: ReplayError.self) { try CSVColumnMapping.parse("colour=Red") }
        #expect(throws: ReplayError.self) { try CSVColumnMapping.parse("time=none") }
    }
}

struct ParallelDecodeTests {
    /// A file above 1 MiB decodes in parts; events, truth and problem line numbers equal one sequential pass.
    @Test func partsJoinInFileOrderWithTrueLineNumbers() throws {
        var lines: [String] = []
        for i in 0..<8000 {
            if i % 1999 == 5 { lines.append(#"{"event_id":"bad\#(i)"}"#); continue }
            lines.append(#"{"event_id":"e\#(i)","ts":"2026-01-01T00:00:00Z","card_id":"card-\#(i % 97)","merchant_id":"merchant-\#(i % 13)","amount":\#(i + 1).25,"currency":"EUR","mcc":"5411","country":"FR","channel":"pos","fraud":\#(i % 11 == 0)}"#)
        }
        let path = try Support.temporaryFile("big.jsonl", lines.joined(separator: "\n") + "\n")
        var sequential = ReplayInputReader()
        sequential.decodeThreads = 1
        var parallel = ReplayInputReader()
        parallel.decodeThreads = 3
        let a = try sequential.read(events: path), b = try parallel.read(events: path)
        #expect(a.events.count == 7996)
        #expect(a.events == b.events && a.truth == b.truth && a.problems == b.problems)
        #expect(b.problems.map(\.line) == [6, 2005, 4004, 6003])
    }

    @Test func findGivesTheFirstOccurrenceLikeANaiveSearch() {
        var g = SystemRandomNumberGenerator()
        let alphabet = Array(#""fa:"#.utf8)
        for _ in 0..<2000 {
            let hay = (0..<Int.random(in: 0...40, using: &g)).map { _ in alphabet.randomElement(using: &g)! }
            let needle = (0..<Int.random(in: 1...4, using: &g)).map { _ in alphabet.randomElement(using: &g)! }
            let naive = hay.count < needle.count ? nil
                : (0...(hay.count - needle.count)).first { at in needle.indices.allSatisfy { hay[at + $0] == needle[$0] } }
            let found = ReplayInputReader.find(needle, in: hay.span)
            #expect(found == naive, "\(hay) \(needle)")
        }
    }

    @Test func partsWithoutAFinalNewlineAndFatalRowsInALaterPart() throws {
        var lines: [String] = []
        for i in 0..<8000 {
            lines.append(#"{"event_id":"e\#(i)","ts":"2026-01-01T00:00:00Z","card_id":"card-\#(i % 97)","merchant_id":"merchant-\#(i % 13)","amount":\#(i + 1).25,"currency":"EUR","mcc":"5411","country":"FR","channel":"pos","fraud":false}"#)
        }
        #expect(lines.reduce(0) { $0 + $1.utf8.count } > 1 << 20, "large enough to be read in parts")
        let whole = try Support.temporaryFile("whole.jsonl", lines.joined(separator: "\n"))  // no final newline
        var parallel = ReplayInputReader()
        parallel.decodeThreads = 3
        let read = try parallel.read(events: whole)
        #expect(read.events.count == 8000 && read.events.last?.eventID == "e7999" && read.truth.count == 8000)

        lines[7000] = #"{"event_id":"broken"}"#
        lines[7500] = "not json"
        let bad = try Support.temporaryFile("bad.jsonl", lines.joined(separator: "\n") + "\n")
        var strict = ReplayInputReader(onMalformed: .fail)
        strict.decodeThreads = 3
        #expect {
            try strict.read(events: bad)
        } throws: { error in
            "\(error)".contains(":7001:")
        }
    }
}
