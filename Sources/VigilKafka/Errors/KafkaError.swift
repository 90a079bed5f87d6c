// The one error type of VigilKafka. Codes are librdkafka's `rd_kafka_resp_err_t`
// values (broker error codes are >= 0, client-side ones are negative), so every
// librdkafka error maps without a table; the constants below name the ones
// callers branch on.
import CRdKafka

public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// A librdkafka error code. Extensible: unknown values keep their number.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The `rd_kafka_resp_err_t` value.
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        init(_ err: rd_kafka_resp_err_t) { self.rawValue = err.rawValue }

        public static let noError = Code(RD_KAFKA_RESP_ERR_NO_ERROR)
        public static let transport = Code(RD_KAFKA_RESP_ERR__TRANSPORT)
        public static let allBrokersDown = Code(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        public static let messageTimedOut = Code(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)
        public static let timedOut = Code(RD_KAFKA_RESP_ERR__TIMED_OUT)
        public static let queueFull = Code(RD_KAFKA_RESP_ERR__QUEUE_FULL)
        public static let invalidArgument = Code(RD_KAFKA_RESP_ERR__INVALID_ARG)
        public static let invalidState = Code(RD_KAFKA_RESP_ERR__STATE)
        public static let unknownTopic = Code(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
        public static let unknownPartition = Code(RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION)
        public static let unknownTopicOrPartition = Code(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        public static let fatal = Code(RD_KAFKA_RESP_ERR__FATAL)
        public static let destroyed = Code(RD_KAFKA_RESP_ERR__DESTROY)
        public static let rebalanceInProgress = Code(RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS)
        public static let illegalGeneration = Code(RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION)
        public static let unknownMemberID = Code(RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID)
        public static let offsetOutOfRange = Code(RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE)
        public static let maxPollExceeded = Code(RD_KAFKA_RESP_ERR__MAX_POLL_EXCEEDED)
        /// The application's partition handler failed (Vigil's own code, outside librdkafka's range).
        public static let partitionHandlerFailed = Code(rawValue: -10_001)

        /// librdkafka's symbolic name, e.g. `_MSG_TIMED_OUT`.
        public var description: String {
            rawValue == Code.partitionHandlerFailed.rawValue
                ? "PARTITION_HANDLER_FAILED" : String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue)))
        }

        /// Transient conditions a caller may retry after a pause: the client recovers by itself.
        var isRetriableByDefault: Bool {
            Code.retriable.contains(rawValue)
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

    public var code: Code
    /// librdkafka's explanation plus what Vigil was doing. Never contains message payloads or secrets.
    public var message: String
    /// The operation may succeed if tried again later (the client recovers by itself).
    public var isRetriable: Bool
    /// The client instance is unusable (librdkafka raised a fatal error, e.g. idempotence
    /// broken or fenced): close it and make a new one.
    public var isFatal: Bool
    public var file: String
    public var line: Int

    public init(_ code: Code, _ message: String, isRetriable: Bool? = nil, isFatal: Bool = false,
                file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.isRetriable = isRetriable ?? code.isRetriableByDefault
        self.isFatal = isFatal || code == .fatal
        self.file = file
        self.line = line
    }

    public var description: String {
        "KafkaError(\(code)\(isFatal ? ", fatal" : "")\(isRetriable ? ", retriable" : "")): \(message) [\(file):\(line)]"
    }
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
