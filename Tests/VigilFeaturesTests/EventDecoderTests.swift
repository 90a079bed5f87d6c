// Decoding: every class of invalid event gets its own code and a reason naming the field.
import Testing
@testable import VigilFeatures

private let decoder = EventDecoder()

private func decode(_ text: String, _ d: EventDecoder = decoder) throws(EventRejection) -> TransactionEvent {
    try d.decode(Array(text.utf8))
}

private func rejection(_ text: String, _ d: EventDecoder = decoder) -> EventRejection? {
    rejection(bytes: Array(text.utf8), d)
}

private func rejection(bytes: [UInt8], _ d: EventDecoder = decoder) -> EventRejection? {
    do {
        _ = try d.decode(bytes)
        return nil
    } catch {
        return error
    }
}

/// A valid event with `extra` spliced in after the required fields.
private func event(_ extra: String = "", amount: String = "42.5", ts: String = "\"2026-03-01T12:30:00Z\"") -> String {
    #"{"event_id":"e-1","ts":\#(ts),"card_id":"c-1","merchant_id":"m-1","amount":\#(amount),"currency":"EUR"\#(extra)}"#
}

@Suite struct EventDecoderTests {
    @Test func eachFieldsPackedNameIsItsLabelsBytes() {
        for field in EventDecoder.Field.allCases {
            let label = Array(field.label.utf8)
            // Exactly the label (the byte-by-byte path), and the label with a payload after it
            // (the word-load path, which must mask off the bytes past the key's end).
            #expect(EventDecoder.Field.pack(label.span, 0, label.count) == field.packedName, "\(field.label)")
            let padded = label + Array(#"":"x","other":"yyyyyyyyyyyy"}"#.utf8)
            #expect(EventDecoder.Field.pack(padded.span, 0, label.count) == field.packedName, "\(field.label)")
        }
    }

    @Test func decodesAllContractFields() throws {
        let e = try decode(#"""
            { "event_id": "e-9", "ts": "2026-03-01T12:30:00.250+01:00", "card_id": "c\u00e9", "merchant_id": 77,
              "amount": 12.34, "currency": "EUR", "mcc": "5411", "country": "FR", "channel": "pos",
              "terminal_id": "t-1", "customer_id": "cu-1", "features": {"velocity": 3, "score": -1.5e-3},
              "unknown": [1, {"deep": [true, false, null]}] }
            """#)
        #expect(e.eventID == "e-9")
        #expect(e.timestampMillis == 1_772_368_200_250 - 3_600_000) // 12:30:00.250+01:00 is 11:30:00.250Z
        #expect(e.cardID == "cé")
        #expect(e.merchantID == "77")
        #expect(e.amount == 12.34)
        #expect(e.currency == "EUR")
        #expect(e.mcc == "5411" && e.country == "FR" && e.channel == "pos")
        #expect(e.terminalID == "t-1" && e.customerID == "cu-1")
        #expect(e.extraFeature("velocity") == 3)
        #expect(e.extraFeature("score") == -1.5e-3)
    }

    @Test func acceptsEpochMillisAndNullOptionals() throws {
        let e = try decode(event(#","mcc":null,"features":{}"#, ts: "1772368200000"))
        #expect(e.timestampMillis == 1_772_368_200_000)
        #expect(e.mcc == nil)
        #expect(e.extraFeatures.isEmpty)
    }

    /// Zero-amount verification authorisations are valid traffic; every spelling of zero,
    /// including negative zero and values that underflow to it, decodes as +0.
    @Test func zeroAmountsAreValid() throws {
        for text in ["0", "0.0", "-0", "-0.0", "0e5", "1e-400", "-1e-400"] {
            let e = try decode(event(amount: text))
            #expect(e.amount == 0 && e.amount.sign == .plus, "\(text) -> \(e.amount)")
        }
        #expect(rejection(event(amount: "-2"))?.reason == "negative_amount: amount: must not be negative, got -2.0")
    }

    @Test func numbersAreCorrectlyRounded() throws {
        for text in ["0.1", "123456.789", "1e-5", "9007199254740993", "3.14159265358979323846264338327950288", "2.5E+3", "0.000000000000000000000000001"] {
            let e = try decode(event(amount: text))
            #expect(e.amount == Double(text)!, "\(text)")
        }
    }

    @Test(arguments: [
        ("", EventRejection.Code.malformedJSON, nil as String?),
        ("[1,2]", .malformedJSON, nil),
        (#"{"event_id":"e","ts":1,"card_id":"c","merchant_id":"m","amount":1,"currency":"EUR""#, .malformedJSON, nil),
        (#"{"event_id":"e","ts":1,"card_id":"c","merchant_id":"m","amount":1,"currency":"EUR",}"#, .malformedJSON, nil),
        (#"{"event_id":"e","ts":1,"card_id":"c","merchant_id":"m","amount":01,"currency":"EUR"}"#, .malformedJSON, nil),
        (#"{"event_id":"e","ts":1,"card_id":"c","merchant_id":"m","amount":1.,"currency":"EUR"}"#, .malformedJSON, "amount"),
        (#"{"event_id":"e","ts":1,"card_id":"c","merchant_id":"m","amount":1,"currency":"EUR"} x"#, .malformedJSON, nil),
        (#"{"event_id":"e\x","ts":1,"card_id":"c","merchant_id":"m","amount":1,"currency":"EUR"}"#, .malformedJSON, "event_id"),
        (#"{"event_id":"e","ts":1,"card_id":"c","merchant_id":"m","amount":1,"currency":"EUR","x":tru}"#, .malformedJSON, nil),
        (#"{"event_id":"e","ts":"#, .malformedJSON, "ts"),
        (#"{"event_id":"e","ts":1,"card_id":"c","merchant_id":"m","amount":}"#, .malformedJSON, "amount"),
        (#"{"event_id":"#, .malformedJSON, "event_id"),
        (#"{"ts":1,"card_id":"c","merchant_id":"m","amount":1,"currency":"EUR"}"#, .missingField, "event_id"),
        (#"{"event_id":"e","ts":1,"card_id":"c","merchant_id":"m","currency":"EUR"}"#, .missingField, "amount"),
        (#"{"event_id":"e","ts":1,"card_id":null,"merchant_id":"m","amount":1,"currency":"EUR"}"#, .missingField, "card_id"),
        (#"{"event_id":"e","ts":1,"card_id":"c","merchant_id":"m","amount":"12","currency":"EUR"}"#, .wrongType, "amount"),
        (#"{"event_id":7,"ts":1,"card_id":"c","merchant_id":"m","amount":1,"currency":"EUR"}"#, .wrongType, "event_id"),
        (#"{"event_id":"e","ts":1,"card_id":{},"merchant_id":"m","amount":1,"currency":"EUR"}"#, .wrongType, "card_id"),
        (#"{"event_id":"e","ts":true,"card_id":"c","merchant_id":"m","amount":1,"currency":"EUR"}"#, .wrongType, "ts"),
        (#"{"event_id":"e","ts":1,"card_id":"c","merchant_id":"m","amount":1,"currency":"EUR","features":[1]}"#, .wrongType, "features"),
        (#"{"event_id":"e","ts":1,"card_id":"c","merchant_id":"m","amount":1,"currency":"EUR","features":{"v":"x"}}"#, .wrongType, "features.v"),
        (#"{"event_id":"e","ts":1,"card_id":"c","merchant_id":"m","amount":NaN,"currency":"EUR"}"#, .nonFiniteNumber, "amount"),
        (#"{"event_id":"e","ts":1,"card_id":"c","merchant_id":"m","amount":Infinity,"currency":"EUR"}"#, .nonFiniteNumber, "amount"),
        (#"{"event_id":"e","ts":1,"card_id":"c","merchant_id":"m","amount":-Infinity,"currency":"EUR"}"#, .nonFiniteNumber, "amount"),
        (#"{"event_id":"e","ts":1,"card_id":"c","merchant_id":"m","amount":1e999,"currency":"EUR"}"#, .nonFiniteNumber, "amount"),
        (#"{"event_id":"e","ts":1,"card_id":"c","merchant_id":"m","amount":1,"currency":"EUR","features":{"v":-2e400}}"#, .nonFiniteNumber, "features.v"),
        (#"{"event_id":"e","ts":1,"card_id":"c","merchant_id":"m","amount":-3.5,"currency":"EUR"}"#, .negativeAmount, "amount"),
        (#"{"event_id":"e","ts":1,"card_id":"c","merchant_id":"m","amount":-0.01,"currency":"EUR"}"#, .negativeAmount, "amount"),
        (#"{"event_id":"e","ts":1,"card_id":"c","merchant_id":"m","amount":-1e-300,"currency":"EUR"}"#, .negativeAmount, "amount"),
        (#"{"event_id":"e","ts":"yesterday","card_id":"c","merchant_id":"m","amount":1,"currency":"EUR"}"#, .invalidTimestamp, "ts"),
        (#"{"event_id":"e","ts":"2026-02-30T00:00:00Z","card_id":"c","merchant_id":"m","amount":1,"currency":"EUR"}"#, .invalidTimestamp, "ts"),
        (#"{"event_id":"e","ts":"2026-02-01T00:00:00","card_id":"c","merchant_id":"m","amount":1,"currency":"EUR"}"#, .invalidTimestamp, "ts"),
        (#"{"event_id":"e","ts":-5,"card_id":"c","merchant_id":"m","amount":1,"currency":"EUR"}"#, .timestampOutOfRange, "ts"),
        (#"{"event_id":"e","ts":"\u0000","card_id":"c","merchant_id":"m","amount":1,"currency":"EUR"}"#, .invalidTimestamp, "ts"),
        (#"{"event_id":"e\u0000","ts":1,"card_id":"c","merchant_id":"m","amount":1,"currency":"EUR"}"#, .nulCharacter, "event_id"),
        (#"{"event_id":"e","ts":1,"card_id":"c","merchant_id":"m","amount":1,"amount":2,"currency":"EUR"}"#, .duplicateField, "amount"),
        (#"{"event_id":"e","ts":1,"card_id":"c","merchant_id":"m","amount":1,"currency":"EUR","features":{"v":1,"v":2}}"#, .duplicateField, "features.v"),
        (#"{"event_id":"","ts":1,"card_id":"c","merchant_id":"m","amount":1,"currency":"EUR"}"#, .invalidValue, "event_id"),
        (#"{"event_id":"e","ts":1,"card_id":"c","merchant_id":"m","amount":1,"currency":"EUR","x":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}"#, .nestingTooDeep, nil),
        (#"{"event_id":"e","ts":1,"card_id":"c","merchant_id":"m","amount":1,"currency":"\udc00"}"#, .invalidUTF8, "currency"),
    ])
    func rejectsWithReason(text: String, code: EventRejection.Code, field: String?) {
        let r = rejection(text)
        #expect(r?.code == code, "\(text) -> \(String(describing: r))")
        if let field { #expect(r?.field == field, "\(text) -> \(String(describing: r))") }
        #expect(r?.reason.hasPrefix(code.rawValue) == true)
    }

    @Test func everyCodeIsCovered() {
        // Keeps the argument list above honest: a new code needs a new rejection case.
        // The four record-level codes are covered by RecordRejectionTests.
        #expect(EventRejection.Code.allCases.count == 15)
    }

    @Test func reasonNamesFieldAndProblem() {
        let r = rejection(event(amount: "\"12\""))
        #expect(r?.reason == "wrong_type: amount: expected a number, got a string")
    }

    @Test func invalidUTF8Bytes() {
        for bad: [UInt8] in [[0xFF], [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC3]] {
            let bytes = Array(#"{"event_id":"e","ts":1,"card_id":""#.utf8) + bad + Array(#"","merchant_id":"m","amount":1,"currency":"EUR"}"#.utf8)
            let r = rejection(bytes: bytes)
            #expect(r?.code == .invalidUTF8, "\(bad)")
            #expect(r?.field == "card_id")
        }
    }

    @Test func payloadLimitIsConfigurable() {
        let small = EventDecoder(configuration: EventDecoderConfiguration(maxPayloadBytes: 64))
        #expect(rejection(event(), small)?.code == .payloadTooLarge)
        #expect(rejection(event()) == nil)
    }

    @Test func depthLimitIsConfigurable() {
        let shallow = EventDecoder(configuration: EventDecoderConfiguration(maxDepth: 1))
        #expect(rejection(event(#","features":{"v":1}"#), shallow)?.code == .nestingTooDeep)
        #expect(rejection(event(#","x":{}"#), shallow)?.code == .nestingTooDeep)
        #expect(rejection(event(#","x":{}"#)) == nil)
    }

    @Test func escapesAndSurrogatesDecode() throws {
        let e = try decode(event(#","country":"\u0046\u0052","channel":"\ud83d\ude00\n""#))
        #expect(e.country == "FR")
        #expect(e.channel == "😀\n")
        let escapedKey = try decode(#"{"event_id":"e","ts":1,"card_id":"c","merchant_id":"m","\u0061mount":5,"currency":"EUR"}"#)
        #expect(escapedKey.amount == 5)
    }

    @Test func longStringsAtEveryAlignment() throws {
        // The scanner skips eight plain bytes at a time; specials must be found at every offset.
        for i in 0..<20 {
            let pad = String(repeating: "a", count: i)
            #expect(try decode(event(#","country":"\#(pad)\"x\#(pad)""#)).country == pad + "\"x" + pad)
            #expect(try decode(event(#","country":"\#(pad)é\#(pad)xxxxxxxx""#)).country == pad + "é" + pad + "xxxxxxxx")
            #expect(rejection(event(#","country":"\#(pad)\#u{01}\#(pad)xxxxxxxx""#))?.code == .malformedJSON)
            #expect(rejection(event(#","country":"\#(pad)"#))?.code == .malformedJSON) // unterminated
            let bad = Array(event(#","country":"\#(pad)"#).utf8.dropLast()) + [0xFF] + Array("xxxxxxxxxx\"}".utf8)
            #expect(rejection(bytes: bad)?.code == .invalidUTF8)
        }
    }

    @Test func labelsDecode() throws {
        let l = try decoder.decodeLabel(Array(#"{"event_id":"e-1","label":"fraud","ts":"2026-03-01T00:00:00Z","x":1}"#.utf8))
        #expect(l == LabelEvent(eventID: "e-1", isFraud: true, timestampMillis: 1_772_323_200_000))
        #expect(throws: EventRejection.self) { try decoder.decodeLabel(Array(#"{"event_id":"e","label":"maybe","ts":1}"#.utf8)) }
        #expect(throws: EventRejection.self) { try decoder.decodeLabel(Array(#"{"event_id":"e","ts":1}"#.utf8)) }
    }

    @Test func timestampsRoundTrip() {
        for ms: Int64 in [0, 1_772_323_200_123, 951_782_400_000, EventTimestamp.maxMillis] {
            #expect(EventTimestamp.parseRFC3339(EventTimestamp.formatRFC3339(ms)) == ms)
        }
    }

    @Test func garbageNeverCrashes() {
        // Every prefix of a valid event, and every single-byte corruption of it, is either
        // accepted or rejected with a reason; none traps.
        let valid = Array(event(#","features":{"a":1.5e3,"b":[1]},"x":"\u00e9"}"#).utf8)
        for n in 0..<valid.count { _ = rejection(bytes: Array(valid[0..<n])) }
        for i in valid.indices {
            for b: UInt8 in [0x00, 0x22, 0x5C, 0x7B, 0x7D, 0xFF, 0x2D, 0x65] {
                var bytes = valid
                bytes[i] = b
                _ = rejection(bytes: bytes)
            }
        }
    }
}

@Suite struct EventDecoderRobustnessTests {
    /// Random mutations of valid events: every outcome is an event obeying the contract or a
    /// rejection with a reason; the decoder never traps (a deterministic PRNG keeps it repeatable).
    @Test func randomMutationsAreAcceptedValidOrRejected() {
        var state: UInt64 = 0x5EED
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 29
        }
        let decoder = EventDecoder()
        let base = Array(#"{"event_id":"e-1","ts":"2026-03-01T12:30:00Z","card_id":"c","merchant_id":77,"amount":12.5e1,"currency":"EUR","features":{"a":-1.25,"b":null},"x":[{"y":"\u00e9\n"}]}"#.utf8)
        let alphabet = Array(#"{}[]":,\-+.eE0123456789tfnaulrsx "#.utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xE2, 0xED, 0xF0, 0xFF]
        var accepted = 0, rejected = 0
        for _ in 0..<20_000 {
            var bytes = base
            for _ in 0...(next() % 4) {
                let i = Int(next() % UInt64(bytes.count))
                switch next() % 3 {
                case 0: bytes[i] = alphabet[Int(next() % UInt64(alphabet.count))]
                case 1: bytes.insert(alphabet[Int(next() % UInt64(alphabet.count))], at: i)
                default: bytes.remove(at: i)
                }
            }
            do {
                let e = try decoder.decode(bytes)
                #expect(e.amount >= 0 && e.amount.sign == .plus && e.amount.isFinite && !e.eventID.isEmpty && !e.cardID.isEmpty)
                accepted += 1
            } catch {
                #expect(!error.reason.isEmpty)
                rejected += 1
            }
        }
        #expect(accepted > 0 && rejected > 0)
    }
}
