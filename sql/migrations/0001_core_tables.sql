-- 0001: the tables Vigil keeps: the decision audit trail, alerts, labels, the
-- model registry, consumer offsets, dead letters, entity snapshots, backtests.
--
-- Placeholders: `vigil migrate` replaces @schema@ (and @schema_literal@,
-- @service_role@, @analyst_role@ in later files) with the validated, quoted
-- names it was given (default schema "vigil"), so tests can migrate private
-- schemas. Apply these files with `vigil migrate`, not psql.
--
-- Column naming: Kafka coordinates are topic / kafka_partition / kafka_offset
-- (OFFSET is a reserved word; the prefix spares analysts the quoting).

CREATE SCHEMA IF NOT EXISTS @schema@;

-- Every scored event, append-only. Range-partitioned by the Kafka record's
-- timestamp into daily partitions (created ahead by create_decision_partitions(),
-- dropped by drop_decision_partitions()), so retention is a cheap DROP TABLE.
--
-- Uniqueness of (topic, kafka_partition, kafka_offset): PostgreSQL requires a
-- unique constraint on a partitioned table to include the partition key. We make
-- that key the record's own Kafka timestamp, which is fixed once the record is in
-- the log (create time or log-append time alike): every redelivery of a record
-- carries the same (topic, partition, offset, timestamp). So the constraint
-- below, although it lists four columns, admits each (topic, partition, offset)
-- only once, and a duplicate fails the whole statement with SQLSTATE 23505.
-- Writers must store the record timestamp in kafka_timestamp (not a clock
-- reading; decided_at is the clock). We measured the alternative - a
-- non-partitioned key table filled by a statement trigger - at about twice the
-- insert cost on the decision hot path, for no stronger guarantee under that rule.
CREATE TABLE @schema@.decisions (
    kafka_timestamp  timestamptz      NOT NULL,
    topic            text             NOT NULL,
    kafka_partition  integer          NOT NULL,
    kafka_offset     bigint           NOT NULL,
    event_id         text             NOT NULL,
    event_time       timestamptz      NOT NULL,
    decided_at       timestamptz      NOT NULL,
    card_id          text             NOT NULL,
    merchant_id      text             NOT NULL,
    amount           double precision NOT NULL,
    currency         text             NOT NULL,
    anomaly_score    real             NOT NULL,
    classifier_score real             NOT NULL,
    risk             real             NOT NULL,
    model_version    bigint           NOT NULL,
    decision         text             NOT NULL CHECK (decision IN ('allow', 'review', 'block')),
    reasons          jsonb            NOT NULL DEFAULT '[]',
    -- The feature vector that was scored: the trainer joins labels to it.
    features         real[],
    CONSTRAINT decisions_kafka_record UNIQUE (topic, kafka_partition, kafka_offset, kafka_timestamp)
) PARTITION BY RANGE (kafka_timestamp);

-- Catches rows whose day has no partition yet, so a missed maintenance run never
-- loses an audit row. Rows here mean create_decision_partitions() ran too late
-- (or a producer sent a wild timestamp).
CREATE TABLE @schema@.decisions_default PARTITION OF @schema@.decisions DEFAULT;

-- Label joins and lookups by event; a card's history.
CREATE INDEX decisions_event_id ON @schema@.decisions (event_id);
CREATE INDEX decisions_card_time ON @schema@.decisions (card_id, decided_at);

-- Review and block decisions that need an analyst. Status moves from open to
-- fraud or legit only through set_alert_disposition(), which records who and when.
CREATE TABLE @schema@.alerts (
    alert_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id         text             NOT NULL,
    topic            text             NOT NULL,
    kafka_partition  integer          NOT NULL,
    kafka_offset     bigint           NOT NULL,
    decided_at       timestamptz      NOT NULL,
    card_id          text             NOT NULL,
    merchant_id      text             NOT NULL,
    amount           double precision NOT NULL,
    currency         text             NOT NULL,
    risk             real             NOT NULL,
    model_version    bigint           NOT NULL,
    decision         text             NOT NULL CHECK (decision IN ('review', 'block')),
    reasons          jsonb            NOT NULL DEFAULT '[]',
    status           text             NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'fraud', 'legit')),
    disposition_by   text,
    disposition_at   timestamptz,
    disposition_note text,
    created_at       timestamptz      NOT NULL DEFAULT now(),
    UNIQUE (topic, kafka_partition, kafka_offset),
    CHECK ((status = 'open') = (disposition_at IS NULL)),
    CHECK ((status = 'open') = (disposition_by IS NULL))
);
CREATE INDEX alerts_open_by_risk ON @schema@.alerts (risk DESC) WHERE status = 'open';
CREATE INDEX alerts_card_time ON @schema@.alerts (card_id, decided_at);
CREATE INDEX alerts_model_time ON @schema@.alerts (model_version, decided_at);
CREATE INDEX alerts_event_id ON @schema@.alerts (event_id);

-- Ground truth for training: from the Kafka "labels" topic (source 'stream',
-- with its coordinates so ingestion is exactly-once) and analyst dispositions
-- (source 'analyst'). Append-only history; the latest label of an event wins.
CREATE TABLE @schema@.labels (
    label_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id         text        NOT NULL,
    label            text        NOT NULL CHECK (label IN ('fraud', 'legit')),
    source           text        NOT NULL CHECK (source IN ('stream', 'analyst')),
    labeled_at       timestamptz NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    set_by           text,
    alert_id         bigint REFERENCES @schema@.alerts (alert_id),
    source_topic     text,
    source_partition integer,
    source_offset    bigint,
    UNIQUE (source_topic, source_partition, source_offset)
);
CREATE INDEX labels_event_id ON @schema@.labels (event_id, recorded_at);
CREATE INDEX labels_recorded_at ON @schema@.labels (recorded_at);

-- Model registry. A version is a candidate until promoted_at, live until
-- retired_at; a candidate retired without promotion was rejected by the guard.
CREATE TABLE @schema@.models (
    version          bigint      PRIMARY KEY,
    parent_version   bigint      REFERENCES @schema@.models (version),
    kind             text        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    metrics          jsonb       NOT NULL DEFAULT '{}',
    weights          bytea       NOT NULL,
    -- Hex digest of weights written by the trainer (SHA-256 recommended).
    checksum         text        NOT NULL,
    promoted_at      timestamptz,
    retired_at       timestamptz,
    note             text,
    CHECK (retired_at IS NULL OR promoted_at IS NULL OR retired_at >= promoted_at)
);
-- At most one live model per kind.
CREATE UNIQUE INDEX models_one_live_per_kind ON @schema@.models (kind)
    WHERE promoted_at IS NOT NULL AND retired_at IS NULL;

-- Kafka offsets stored with the rows they produced (exactly-once). next_offset is
-- the first offset not yet processed; advance_offset() is the compare-and-set.
CREATE TABLE @schema@.consumer_offsets (
    group_id        text        NOT NULL,
    topic           text        NOT NULL,
    kafka_partition integer     NOT NULL,
    next_offset     bigint      NOT NULL CHECK (next_offset >= 0),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    updated_by      text,
    PRIMARY KEY (group_id, topic, kafka_partition)
);

-- Messages that could not be decoded or validated, written in the same
-- transaction as the batch they belonged to.
CREATE TABLE @schema@.dead_letters (
    dead_letter_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic           text        NOT NULL,
    kafka_partition integer     NOT NULL,
    kafka_offset    bigint      NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    -- Short machine code (invalid_json, missing_field, wrong_type, non_finite, oversize...).
    reason_code     text        NOT NULL,
    reason          text        NOT NULL,
    message_key     bytea,
    payload         bytea       NOT NULL,
    UNIQUE (topic, kafka_partition, kafka_offset)
);
CREATE INDEX dead_letters_received_at ON @schema@.dead_letters (received_at);

-- Per-partition feature state: the state after every event with offset < through_offset.
CREATE TABLE @schema@.entity_snapshots (
    snapshot_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_id        text        NOT NULL,
    topic           text        NOT NULL,
    kafka_partition integer     NOT NULL,
    through_offset  bigint      NOT NULL,
    taken_at        timestamptz NOT NULL DEFAULT now(),
    format_version  integer     NOT NULL,
    state           bytea       NOT NULL,
    checksum        text,
    UNIQUE (group_id, topic, kafka_partition, through_offset)
);

-- Runs of `vigil replay`: what was replayed with which configuration, and the metrics.
CREATE TABLE @schema@.backtest_runs (
    run_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text        NOT NULL,
    source        text        NOT NULL,
    model_version bigint,
    config        jsonb       NOT NULL DEFAULT '{}',
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    events        bigint,
    metrics       jsonb       NOT NULL DEFAULT '{}',
    created_by    text        NOT NULL DEFAULT current_user
);
CREATE INDEX backtest_runs_started_at ON @schema@.backtest_runs (started_at);
