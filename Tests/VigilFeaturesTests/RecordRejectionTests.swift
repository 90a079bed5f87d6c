// Everything PostgreSQL could not store is refused at decode time with a stable code: NUL in
// any text field of both contracts, times outside 1970 ... 9999 (event, label and Kafka
// record timestamps), and keys that are too long or not UTF-8.
import Testing
@testable import VigilFeatures

private let decoder = EventDecoder()

/// Every text field of the event contract, with a value that is valid apart from the NUL.
private let eventTextFields = ["event_id", "card_id", "merchant_id", "currency", "mcc", "country", "channel", "terminal_id", "customer_id"]

private func event(replacing field: String, with json: String) -> String {
    var fields: [(String, String)] = [("event_id", #""e-1""#), ("ts", "1772368200000"), ("card_id", #""c-1""#), ("merchant_id", #""m-1""#),
                                      ("amount", "12.5"), ("currency", #""EUR""#), ("mcc", #""5411""#), ("country", #""FR""#),
                                      ("channel", #""pos""#), ("terminal_id", #""t-1""#), ("customer_id", #""cu-1""#)]
    fields = fields.map { $0.0 == field ? ($0.0, json) : $0 }
    return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
}

private func eventRejection(_ text: String) -> EventRejection? {
    do { _ = try decoder.decode(Array(text.utf8)); return nil } catch { return error }
}

private func labelRejection(_ text: String) -> EventRejection? {
    do { _ = try decoder.decodeLabel(Array(text.utf8)); return nil } catch { return error }
}

@Suite struct RecordRejectionTests {
    @Test(arguments: eventTextFields)
    func nulInAnyEventTextFieldIsRefused(field: String) {
        for value in [#""\u0000""#, #""a\u0000b""#, #""card\u0000""#] {
            let r = eventRejection(event(replacing: field, with: value))
            #expect(r?.code == .nulCharacter, "\(field)=\(value) -> \(String(describing: r))")
            #expect(r?.field == field)
            #expect(r?.reason.hasPrefix("nul_character: \(field):") == true)
        }
        // Other escapes in the same field are still fine.
        #expect(eventRejection(event(replacing: field, with: #""a\u00e9\n""#)) == nil)
    }

    @Test func nulInLabelTextFieldsIsRefused() {
        #expect(labelRejection(#"{"event_id":"e\u0000","label":"fraud","ts":1}"#)?.code == .nulCharacter)
        #expect(labelRejection(#"{"event_id":"e","label":"fraud\u0000","ts":1}"#)?.code == .nulCharacter)
        #expect(labelRejection(#"{"event_id":"e","label":"fraud","ts":1}"#) == nil)
    }

    @Test(arguments: [
        ("-1", EventRejection.Code.timestampOutOfRange), ("253402300800000", .timestampOutOfRange), ("1e300", .timestampOutOfRange),
        ("-9.3e18", .timestampOutOfRange), ("9.3e18", .timestampOutOfRange), (#""1969-12-31T23:59:59.999Z""#, .timestampOutOfRange),
        (#""0001-01-01T00:00:00Z""#, .timestampOutOfRange), (#""9999-12-31T23:59:59-01:00""#, .timestampOutOfRange),
        (#""1970-01-01T00:00:00+00:01""#, .timestampOutOfRange), (#""2026-13-01T00:00:00Z""#, .invalidTimestamp),
    ])
    func timesOutsideTheStorableRangeAreRefused(ts: String, code: EventRejection.Code) {
        #expect(eventRejection(event(replacing: "ts", with: ts))?.code == code, "event ts \(ts)")
        #expect(labelRejection(#"{"event_id":"e","label":"legit","ts":\#(ts)}"#)?.code == code, "label ts \(ts)")
    }

    @Test func theEdgesOfTheRangeAreAccepted() throws {
        for ts in ["0", "253402300799999", #""1970-01-01T00:00:00Z""#, #""9999-12-31T23:59:59.999Z""#, #""1970-01-01T01:00:00+01:00""#] {
            #expect(eventRejection(event(replacing: "ts", with: ts)) == nil, "ts \(ts)")
        }
    }

    @Test func recordTimestampsOutsideTheRangeAreRefused() throws {
        for millis: Int64 in [-1, -86_400_000, EventTimestamp.maxMillis + 1, 9_300_000_000_000_000, .max, .min] {
            #expect(throws: EventRejection.self) { try EventDecoder.checkRecordTimestamp(millis) }
            do { try EventDecoder.checkRecordTimestamp(millis) } catch { #expect(error.code == .timestampOutOfRange) }
        }
        for millis: Int64? in [nil, 0, 1_772_368_200_000, EventTimestamp.maxMillis] {
            try EventDecoder.checkRecordTimestamp(millis)
        }
    }

    @Test func keysTooLongOrNotUTF8AreRefused() throws {
        let limited = EventDecoder(configuration: EventDecoderConfiguration(maxKeyBytes: 8))
        try limited.checkKey(nil)
        try limited.checkKey(ArraySlice(Array("card-123".utf8)))
        try limited.checkKey(ArraySlice(Array("cé".utf8)))
        do { try limited.checkKey(ArraySlice(Array("card-1234".utf8))); Issue.record("9 bytes accepted") } catch {
            #expect(error.code == .keyTooLarge)
            #expect(error.reason == "key_too_large: key: 9 bytes exceed the limit of 8")
        }
        for bad: [UInt8] in [[0xFF], [0x61, 0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x61, 0xC3]] {
            do { try limited.checkKey(ArraySlice(bad)); Issue.record("\(bad) accepted") } catch { #expect(error.code == .invalidKeyUTF8) }
        }
        // A slice that does not start at index 0 (keys are slices of a poll's shared buffer).
        let buffer: [UInt8] = [0x20, 0x20, 0x61, 0xFF]
        do { try limited.checkKey(buffer[2...]); Issue.record("accepted") } catch { #expect(error.reason.hasSuffix("at byte 1")) }
        #expect(EventDecoder.firstInvalidUTF8(ArraySlice(Array("𝄞 ok é".utf8))) == nil)
    }
}
