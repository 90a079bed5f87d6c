-- 0009: the audit trail's hash chain, and the read path `vigil audit verify` uses.
--
-- Per (topic, partition), every committed batch appends one link in the batch's own
-- transaction: the offsets it committed [from_offset, to_offset), how many decisions, alerts,
-- dead letters and labels it wrote, a SHA-256 over those rows, a row map (which tables hold a
-- row for each offset, with a 4-byte tag of each row), the previous link's hash and its own
-- hash over all of that, optionally signed. sql/README.md ("The audit chain") documents the
-- byte encoding so an auditor can recompute it without Vigil.
--
-- The service may append links but never change or delete them; analysts read links and
-- the rows they cover through the audit_* views below (verify's read path), and cannot
-- write anything here.

CREATE TABLE @schema@.audit_chain (
    format          smallint    NOT NULL,
    topic           text        NOT NULL,
    kafka_partition integer     NOT NULL,
    from_offset     bigint      NOT NULL,
    to_offset       bigint      NOT NULL CHECK (to_offset >= from_offset),
    committed_at    timestamptz NOT NULL,
    decisions       integer     NOT NULL,
    alerts          integer     NOT NULL,
    dead_letters    integer     NOT NULL,
    labels          integer     NOT NULL,
    rows_sha256     bytea       NOT NULL,
    row_map         bytea       NOT NULL,
    prev_hash       bytea       NOT NULL,
    link_hash       bytea       NOT NULL,
    -- HMAC-SHA-256 or Ed25519 over link_hash, with the key's public name (audit.signing_key_file).
    signature       bytea,
    key_id          text,
    PRIMARY KEY (topic, kafka_partition, from_offset)
);

GRANT SELECT, INSERT ON @schema@.audit_chain TO @service_role@;

-- Verify's read path. Each view shows exactly the columns the chain hashes (the sink COPYs
-- them in this order), so the analyst role can recompute every link without any right on the
-- tables themselves. The views run with their owner's rights.
CREATE VIEW @schema@.audit_links AS
SELECT format, topic, kafka_partition, from_offset, to_offset, committed_at, decisions, alerts, dead_letters, labels,
       rows_sha256, row_map, prev_hash, link_hash, signature, key_id
FROM @schema@.audit_chain;

CREATE VIEW @schema@.audit_decisions AS
SELECT kafka_timestamp, kafka_offset, event_time, decided_at, amount, model_version, kafka_partition, anomaly_score,
       classifier_score, risk, topic, event_id, card_id, merchant_id, currency, decision, reasons, features
FROM @schema@.decisions;

CREATE VIEW @schema@.audit_alerts AS
SELECT event_id, topic, kafka_partition, kafka_offset, decided_at, card_id, merchant_id, amount, currency, risk,
       model_version, decision, reasons
FROM @schema@.alerts;

CREATE VIEW @schema@.audit_dead_letters AS
SELECT topic, kafka_partition, kafka_offset, received_at, reason_code, reason, message_key, payload
FROM @schema@.dead_letters;

CREATE VIEW @schema@.audit_labels AS
SELECT event_id, label, source, labeled_at, source_topic, source_partition, source_offset
FROM @schema@.labels;

-- Where each consumer group's stored offsets stand: offsets committed past a partition's
-- newest link mean links are missing at the end.
CREATE VIEW @schema@.audit_offsets AS
SELECT group_id, topic, kafka_partition, next_offset
FROM @schema@.consumer_offsets;

GRANT SELECT ON @schema@.audit_links, @schema@.audit_decisions, @schema@.audit_alerts, @schema@.audit_dead_letters,
    @schema@.audit_labels, @schema@.audit_offsets TO @analyst_role@;
