// A Kafka message to a contract value or the dead letter it becomes: the key and the record
// timestamp are checked with the payload, so everything the audit trail could not store is
// refused here, at decode time (see EventDecoder+Record.swift).
import VigilFeatures
import VigilKafka

extension EventDecoder {
    /// A transaction, or why it is a dead letter. The record timestamp keys `decisions`, so
    /// it must be storable too.
    func decodeTransaction(_ message: KafkaMessage) -> Result<TransactionEvent, EventRejection> {
        do throws(EventRejection) {
            try checkKey(message.key)
            try Self.checkRecordTimestamp(message.timestampMilliseconds)
        } catch {
            return .failure(error)
        }
        do throws(EventRejection) { return .success(try decode(message.value)) } catch { return .failure(error) }
    }

    /// A label, or why it is a dead letter. Labels store their own `ts`, not the record's.
    func decodeStreamLabel(_ message: KafkaMessage) -> Result<LabelEvent, EventRejection> {
        do throws(EventRejection) { try checkKey(message.key) } catch { return .failure(error) }
        do throws(EventRejection) { return .success(try decodeLabel(message.value)) } catch { return .failure(error) }
    }
}

extension AuditBatch.DeadLetter {
    /// The dead letter of `message`: payload and key cut to their limits (a key over its
    /// limit is itself a reason to refuse the message, and is stored cut like a payload).
    init(_ message: KafkaMessage, _ rejection: EventRejection, payloadLimit: Int, keyLimit: Int) {
        self.init(partition: message.topicPartition, offset: message.offset, key: message.key.map { Array($0.prefix(keyLimit)) },
                  payload: Array(message.value.prefix(payloadLimit)), reasonCode: rejection.code.rawValue, reason: rejection.reason)
    }
}
