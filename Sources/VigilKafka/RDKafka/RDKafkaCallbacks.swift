// librdkafka's callbacks (rebalance, log, delivery report, statistics): private free functions
// that recover their Swift context from the configuration opaque and hand it Swift
// values.
//
// Lifetime: the RDKafkaClient made from the configuration holds the context strongly
// as its callback context and destroys the rd_kafka_t before releasing it, so the
// unretained pointer in the opaque is valid for every callback.
import CRdKafka

extension RDKafkaConfiguration {
    /// Routes a consumer's rebalances (and log lines, when it has a log handler) to `context`.
    static func install(_ context: RebalanceContext, on conf: OpaquePointer) {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())
        rd_kafka_conf_set_rebalance_cb(conf, rebalanceCallback)
        if context.logHandler != nil { rd_kafka_conf_set_log_cb(conf, consumerLogCallback) }
    }

    /// Routes a producer's delivery reports to `context`.
    static func install(_ context: DeliveryContext, on conf: OpaquePointer) {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())
        rd_kafka_conf_set_dr_msg_cb(conf, deliveryCallback)
        rd_kafka_conf_set_stats_cb(conf, statisticsCallback)
    }
}

/// One rebalance as the callback sees it, and the calls that answer it. Valid only during
/// the callback (it borrows librdkafka's partition list).
struct RDKafkaRebalance {
    enum Kind {
        case assign
        case revoke
        /// librdkafka reported an error instead of a change.
        case failed(KafkaError)
    }

    let kind: Kind
    let partitions: [KafkaTopicPartition]
    /// The group uses the cooperative protocol: changes are increments, not replacements.
    let isCooperative: Bool
    private let handle: OpaquePointer
    private let list: RDKafkaTopicPartitionList

    fileprivate init(handle: OpaquePointer, err: rd_kafka_resp_err_t, list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        self.handle = handle
        self.list = RDKafkaTopicPartitionList(borrowing: list)
        partitions = self.list.partitions
        isCooperative = String(cString: rd_kafka_rebalance_protocol(handle)) == "COOPERATIVE"
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS: kind = .assign
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS: kind = .revoke
        default: kind = .failed(.rd(err, "rebalance"))
        }
    }

    /// The revoked partitions were lost (the member missed its deadline) rather than handed over.
    var isAssignmentLost: Bool { rd_kafka_assignment_lost(handle) != 0 }

    /// Takes the offered `partitions` at `offsets` (same order): adds them under the
    /// cooperative protocol, replaces the assignment under the eager one.
    func assign(at offsets: [KafkaOffset]) -> KafkaError? {
        for (index, offset) in offsets.enumerated() { list.setOffset(at: index, offset.rawValue) }
        return list.withListPointer { list -> KafkaError? in
            if isCooperative {
                return rd_kafka_incremental_assign(handle, list).map { .consuming($0, "incremental assign") }
            }
            let result = rd_kafka_assign(handle, list)
            return result == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : .rd(result, "assign")
        }
    }

    /// Gives the revoked `partitions` up: removes them under the cooperative protocol,
    /// clears the assignment under the eager one.
    func unassign() -> KafkaError? {
        if isCooperative {
            return list.withListPointer { rd_kafka_incremental_unassign(handle, $0) }.map { .consuming($0, "incremental unassign") }
        }
        return unassignAll()
    }

    /// Clears the whole assignment.
    @discardableResult
    func unassignAll() -> KafkaError? {
        let result = rd_kafka_assign(handle, nil)
        return result == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : .rd(result, "unassign")
    }
}

/// librdkafka's rebalance callback; the opaque is the consumer's RebalanceContext.
private func rebalanceCallback(rk: OpaquePointer?, err: rd_kafka_resp_err_t,
                               partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
                               opaque: UnsafeMutableRawPointer?) {
    guard let rk, let partitions, let opaque else { return }
    Unmanaged<RebalanceContext>.fromOpaque(opaque).takeUnretainedValue()
        .rebalance(RDKafkaRebalance(handle: rk, err: err, list: partitions))
}

/// librdkafka's log callback for consumers: the opaque is the consumer's RebalanceContext,
/// alive until rd_kafka_destroy has returned (see the file header). librdkafka may log
/// before the handle is fully made; the opaque is set on the configuration first.
private func consumerLogCallback(_ rk: OpaquePointer?, _ level: Int32, _ facility: UnsafePointer<CChar>?, _ text: UnsafePointer<CChar>?) {
    guard let rk, let opaque = rd_kafka_opaque(rk) else { return }
    let context = Unmanaged<RebalanceContext>.fromOpaque(opaque).takeUnretainedValue()
    guard let handler = context.logHandler else { return }
    handler(KafkaLogMessage(level: level, facility: facility.map { String(cString: $0) } ?? "",
                            message: text.map { String(cString: $0) } ?? "", client: String(cString: rd_kafka_name(rk))))
}

/// librdkafka's delivery-report callback (runs inside rd_kafka_poll/flush on the producer's
/// own thread); the opaque is the producer's DeliveryContext.
private func deliveryCallback(rk: OpaquePointer?, message: UnsafePointer<rd_kafka_message_t>?, opaque: UnsafeMutableRawPointer?) {
    guard let message, let opaque else { return }
    let m = message.pointee
    let topic = m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
    var error: KafkaError?
    if m.err != RD_KAFKA_RESP_ERR_NO_ERROR {
        error = KafkaError(.init(m.err), "delivery to \(topic)[\(m.partition)]: \(String(cString: rd_kafka_err2str(m.err)))")
    }
    let report = KafkaDeliveryReport(id: UInt64(UInt(bitPattern: m._private)), topic: topic, partition: m.partition,
                                     offset: error == nil && m.offset >= 0 ? m.offset : nil, error: error)
    Unmanaged<DeliveryContext>.fromOpaque(opaque).takeUnretainedValue().report(report)
}

/// Runs only with `statistics.interval.ms` set. Returning 0 lets librdkafka free the JSON.
private func statisticsCallback(rk: OpaquePointer?, json: UnsafeMutablePointer<CChar>?, length: Int, opaque: UnsafeMutableRawPointer?) -> Int32 {
    guard let json, let opaque else { return 0 }
    let text = String(decoding: UnsafeRawBufferPointer(start: json, count: length), as: UTF8.self)
    Unmanaged<DeliveryContext>.fromOpaque(opaque).takeUnretainedValue().statistics(text)
    return 0
}
