// The one cold start from events (serve's empty registry, replay without an initial model).
import Testing
import VigilFeatures
@testable import VigilEngine

@Suite struct ColdStartTests {
    /// The same model as featurising the events by hand and training on the rows, and the
    /// caller's extractor keeps its entity state (those events are decided afterwards).
    @Test func eventsGiveTheModelTheirRowsGiveAndLeaveTheExtractorUntouched() throws {
        let events = Array(Fixture.stream(transactions: 400).events.prefix(300))
        let extractor = try Fixture.extractor()
        let fromEvents = try ModelSet.coldStart(events: events, extractor: extractor, architecture: Fixture.architecture,
                                                createdAtMillis: 1_767_225_600_000)
        var byHand = extractor
        var rows: [Float] = []
        for e in events { rows += byHand.extract(e).dense }
        let fromRows = try ModelSet.coldStart(featureSpecHash: extractor.spec.specHash, featureWidth: extractor.denseCount,
                                              sparseDimension: Int(extractor.sparseDimension), architecture: Fixture.architecture,
                                              warmUpRows: rows, count: events.count, createdAtMillis: 1_767_225_600_000)
        #expect(fromEvents.checksum == fromRows.checksum)
        // The extractor given was copied: its first event is still a card's first transaction.
        var untouched = extractor, fresh = try Fixture.extractor()
        #expect(untouched.extract(events[0]).dense == fresh.extract(events[0]).dense)
    }

    @Test func fewerThan64EventsAreRefused() throws {
        let events = Array(Fixture.stream(transactions: 100).events.prefix(63))
        #expect(throws: EngineError.self) { try ModelSet.coldStart(events: events, extractor: try Fixture.extractor()) }
    }
}
