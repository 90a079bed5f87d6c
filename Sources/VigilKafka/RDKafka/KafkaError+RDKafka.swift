// KafkaError's side that needs librdkafka's headers: the named codes, their
// symbolic names, which ones are transient, and errors made from C response
// codes and error objects.
import CRdKafka

extension KafkaError.Code {
    init(_ err: rd_kafka_resp_err_t) { self.init(rawValue: err.rawValue) }

    public static let noError = Self(RD_KAFKA_RESP_ERR_NO_ERROR)
    public static let transport = Self(RD_KAFKA_RESP_ERR__TRANSPORT)
    public static let allBrokersDown = Self(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
    public static let messageTimedOut = Self(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)
    public static let timedOut = Self(RD_KAFKA_RESP_ERR__TIMED_OUT)
    public static let queueFull = Self(RD_KAFKA_RESP_ERR__QUEUE_FULL)
    public static let invalidArgument = Self(RD_KAFKA_RESP_ERR__INVALID_ARG)
    public static let invalidState = Self(RD_KAFKA_RESP_ERR__STATE)
    public static let unknownTopic = Self(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
    public static let unknownPartition = Self(RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION)
    public static let unknownTopicOrPartition = Self(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
    public static let fatal = Self(RD_KAFKA_RESP_ERR__FATAL)
    public static let destroyed = Self(RD_KAFKA_RESP_ERR__DESTROY)
    public static let rebalanceInProgress = Self(RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS)
    public static let illegalGeneration = Self(RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION)
    public static let unknownMemberID = Self(RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID)
    public static let offsetOutOfRange = Self(RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE)
    public static let maxPollExceeded = Self(RD_KAFKA_RESP_ERR__MAX_POLL_EXCEEDED)
    /// The application's partition handler failed (Vigil's own code, outside librdkafka's range).
    public static let partitionHandlerFailed = Self(rawValue: -10_001)

    /// librdkafka's symbolic name, e.g. `_MSG_TIMED_OUT`.
    public var description: String {
        rawValue == Self.partitionHandlerFailed.rawValue
            ? "PARTITION_HANDLER_FAILED" : String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue)))
    }

    /// Transient conditions a caller may retry after a pause: the client recovers by itself.
    var isRetriableByDefault: Bool {
        Self.retriable.contains(rawValue)
    }

    private static let retriable: Set<Int32> = [
        RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
        RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__RESOLVE,
        RD_KAFKA_RESP_ERR__WAIT_COORD, RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE, RD_KAFKA_RESP_ERR__NODE_UPDATE,
        RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC,
        RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR,
        RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH, RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH,
        RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED,
        // The member missed max.poll.interval.ms (stalled, stopped): librdkafka has left the
        // group, reports the assignment lost and rejoins at the next poll.
        RD_KAFKA_RESP_ERR__MAX_POLL_EXCEEDED,
    ].reduce(into: Set<Int32>()) { $0.insert($1.rawValue) }
}

extension KafkaError {
    /// An error from a plain librdkafka response code, with librdkafka's text.
    static func rd(_ err: rd_kafka_resp_err_t, _ context: String, file: String = #fileID, line: Int = #line) -> KafkaError {
        KafkaError(Code(err), "\(context): \(String(cString: rd_kafka_err2str(err)))", file: file, line: line)
    }

    /// Consumes (destroys) a librdkafka error object, keeping its own retriable/fatal flags.
    static func consuming(_ error: OpaquePointer, _ context: String, file: String = #fileID, line: Int = #line) -> KafkaError {
        defer { rd_kafka_error_destroy(error) }
        let code = Code(rd_kafka_error_code(error))
        return KafkaError(code, "\(context): \(String(cString: rd_kafka_error_string(error)))",
                          isRetriable: rd_kafka_error_is_retriable(error) != 0 || code.isRetriableByDefault,
                          isFatal: rd_kafka_error_is_fatal(error) != 0, file: file, line: line)
    }
}
