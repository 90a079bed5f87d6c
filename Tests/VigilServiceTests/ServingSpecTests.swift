// Which feature spec serve runs with for the live model version (ServingSpec).
import Testing
import VigilFeatures
@testable import VigilService

@Suite struct ServingSpecTests {
    @Test func theStandardSpecGivesWayToAnEarlierStandardTheLiveVersionWasTrainedOn() {
        let earlier = FeatureSpec.standardWithWeekdays
        #expect(ServingSpec.choose(configured: .standard, liveSpecHash: earlier.specHash) == earlier)
        #expect(ServingSpec.choose(configured: .standard, liveSpecHash: FeatureSpec.standard.specHash) == .standard)
        // An empty registry (cold start) and a spec no release shipped: the configured spec.
        #expect(ServingSpec.choose(configured: .standard, liveSpecHash: nil) == .standard)
        #expect(ServingSpec.choose(configured: .standard, liveSpecHash: 42) == .standard)
        // The standard spec read from its file (utc_offset_minutes 0 written out) is the standard.
        var fromFile = FeatureSpec.standard
        fromFile.utcOffsetMinutes = 0
        #expect(ServingSpec.choose(configured: fromFile, liveSpecHash: earlier.specHash) == earlier)
    }

    @Test func aSpecOtherThanTheStandardIsKeptAsConfigured() {
        var own = FeatureSpec.standard
        own.dense.removeLast()
        #expect(ServingSpec.choose(configured: own, liveSpecHash: FeatureSpec.standardWithWeekdays.specHash) == own)
        #expect(ServingSpec.choose(configured: .standardWithWeekdays, liveSpecHash: FeatureSpec.standard.specHash) == .standardWithWeekdays)
    }
}
