// The first model set of an empty registry, trained on early traffic: the valid events of
// the first messages polled, featurised by a throwaway extractor (the partitions' own
// state is untouched, so those events are then decided normally).
import VigilEngine
import VigilFeatures
import VigilKafka

public enum ColdStart {
    /// Valid events among `messages`, in order.
    public static func validEvents(_ messages: [KafkaMessage], decoder: EventDecoder) -> [TransactionEvent] {
        messages.compactMap { message in try? decoder.decodeTransaction(message).get() }
    }

    public static func train(events: [TransactionEvent], spec: FeatureSpec, state: FeatureStateConfiguration) throws -> ModelSet {
        var extractor = try FeatureExtractor(spec: spec, configuration: state)
        var vector = extractor.makeVector()
        var rows: [Float] = []
        rows.reserveCapacity(events.count * extractor.denseCount)
        for event in events {
            extractor.extract(event, into: &vector)
            rows.append(contentsOf: vector.dense.map { $0.isFinite ? $0 : 0 })
        }
        return try ModelSet.coldStart(featureSpecHash: spec.specHash, featureWidth: extractor.denseCount,
                                      sparseDimension: Int(extractor.sparseDimension), warmUpRows: rows, count: events.count)
    }
}
