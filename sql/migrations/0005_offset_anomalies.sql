-- 0005: offset anomalies. A partition's stored offset (consumer_offsets.next_offset) must meet
-- its log: `vigil serve` records here, in the transaction of the batch that found it, every
-- retention gap (messages past the stored offset were deleted before they were decided) and
-- every stored offset past the log end (topic re-created or truncated), with what it did
-- (`halt`: the partition is no longer consumed; `skip`: recorded and consumption went on).
-- The same anomaly found again (a restart, the next owner of the partition) is kept once.

CREATE TABLE @schema@.offset_anomalies (
    anomaly_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_id        text        NOT NULL,
    topic           text        NOT NULL,
    kafka_partition integer     NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('retention_gap', 'past_log_end')),
    -- consumer_offsets.next_offset when the anomaly was found.
    stored_offset   bigint      NOT NULL,
    -- retention_gap: the first offset still in the log; past_log_end: the log end.
    log_offset      bigint      NOT NULL,
    action          text        NOT NULL CHECK (action IN ('halt', 'skip')),
    detected_at     timestamptz NOT NULL DEFAULT now(),
    detected_by     text,
    UNIQUE (group_id, topic, kafka_partition, kind, stored_offset)
);
CREATE INDEX offset_anomalies_detected_at ON @schema@.offset_anomalies (detected_at);

GRANT SELECT, INSERT ON @schema@.offset_anomalies TO @service_role@;
