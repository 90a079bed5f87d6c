// The producer calls on an `rd_kafka_t`, in Swift values.
import CRdKafka

extension RDKafkaClient {
    /// Serves delivery-report callbacks for up to `timeoutMs`. Blocks: the producer's own thread.
    func poll(timeoutMs: Int) {
        rd_kafka_poll(pointer, Int32(timeoutMs))
    }

    /// Messages waiting in librdkafka for delivery.
    var outstandingMessages: Int { Int(rd_kafka_outq_len(pointer)) }

    /// Waits until every message was delivered or failed, at most `timeoutMs`. Blocks.
    func flush(timeoutMs: Int) throws(KafkaError) {
        let err = rd_kafka_flush(pointer, Int32(timeoutMs))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rd(err, "flush (\(outstandingMessages) messages outstanding)")
        }
    }

    /// Hands `message` to librdkafka (copied), tagged with `id` for its delivery report.
    func produce(_ message: KafkaProducerMessage, id: UInt64) throws(KafkaError) {
        var headers: OpaquePointer?
        if !message.headers.isEmpty {
            headers = rd_kafka_headers_new(message.headers.count)
            for header in message.headers {
                if let value = header.value {
                    _ = value.withUnsafeBytes { rd_kafka_header_add(headers, header.name, -1, $0.baseAddress, $0.count) }
                } else {
                    _ = rd_kafka_header_add(headers, header.name, -1, nil, 0)
                }
            }
        }
        let error: OpaquePointer? = message.topic.withCString { topic in
            message.value.withUnsafeBytes { value in
                withKey(message.key) { key in
                    var vus: [rd_kafka_vu_t] = []
                    vus.reserveCapacity(8)
                    var vu = rd_kafka_vu_t()
                    vu.vtype = RD_KAFKA_VTYPE_TOPIC; vu.u.cstr = topic; vus.append(vu)
                    vu = rd_kafka_vu_t()
                    vu.vtype = RD_KAFKA_VTYPE_MSGFLAGS; vu.u.i = RD_KAFKA_MSG_F_COPY; vus.append(vu)
                    vu = rd_kafka_vu_t()
                    vu.vtype = RD_KAFKA_VTYPE_VALUE
                    vu.u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress); vu.u.mem.size = value.count
                    vus.append(vu)
                    vu = rd_kafka_vu_t()
                    vu.vtype = RD_KAFKA_VTYPE_OPAQUE; vu.u.ptr = UnsafeMutableRawPointer(bitPattern: UInt(id)); vus.append(vu)
                    if let key {
                        vu = rd_kafka_vu_t()
                        vu.vtype = RD_KAFKA_VTYPE_KEY
                        vu.u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress); vu.u.mem.size = key.count
                        vus.append(vu)
                    }
                    if let partition = message.partition {
                        vu = rd_kafka_vu_t()
                        vu.vtype = RD_KAFKA_VTYPE_PARTITION; vu.u.i32 = partition; vus.append(vu)
                    }
                    if let timestamp = message.timestampMilliseconds {
                        vu = rd_kafka_vu_t()
                        vu.vtype = RD_KAFKA_VTYPE_TIMESTAMP; vu.u.i64 = timestamp; vus.append(vu)
                    }
                    if let headers {
                        vu = rd_kafka_vu_t()
                        vu.vtype = RD_KAFKA_VTYPE_HEADERS; vu.u.headers = headers; vus.append(vu)
                    }
                    return rd_kafka_produceva(pointer, vus, vus.count)
                }
            }
        }
        if let error {
            // On failure the headers stay ours.
            if let headers { rd_kafka_headers_destroy(headers) }
            throw KafkaError.consuming(error, "produce to \(message.topic)")
        }
    }
}

private func withKey<T>(_ key: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> T) -> T {
    guard let key else { return body(nil) }
    return key.withUnsafeBytes { body($0) }
}
