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

    /// The first model set from `events` with serve's spec and state settings
    /// (`ModelSet.coldStart(events:extractor:)`, the cold start replay uses too).
    public static func train(events: [TransactionEvent], spec: FeatureSpec, state: FeatureStateConfiguration) throws -> ModelSet {
        try ModelSet.coldStart(events: events, extractor: FeatureExtractor(spec: spec, configuration: state))
    }
}
