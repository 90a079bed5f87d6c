-- 0008: the decision row, designed by measurement (`tools/bench audit-row`; the figures are
-- in sql/README.md, "The decision row").
--
-- Against 0001's row, measured on the same decided events: about 0.57x the server CPU per
-- row, 0.6x the bytes on disk and 0.67x the WAL. What changed and why:
-- * features (real[], every row) is kept only for alerted decisions plus a sampled share
--   (audit.features, audit.feature_sample_rate); NULL elsewhere costs one bit.
-- * reasons are compact text (`r:amount=12.5;c:card.count_1h=0.81`) instead of jsonb: a
--   third of the row and a JSON parse per row on the server. Alerts keep jsonb reasons.
-- * columns are ordered 8-byte, 4-byte, then variable length: no alignment padding.
-- * the unique key leads with (kafka_partition, kafka_offset), so B-tree comparisons are
--   settled by integers, not by text comparisons of the topic name.
-- * the event and card lookups use hash indexes: a fixed 4-byte hash per entry, whatever the
--   id's length, and cheaper inserts than a B-tree when ids arrive in random order (UUIDs).
--   Both lookups are equality only (card_timeline filters a card, labels join on event id).
--
-- Upgrades from a database migrated by 0001-0004: the existing table is renamed
-- decisions_legacy (with its partitions as decisions_legacy_YYYYMMDD, rows and indexes as
-- they were, no rewrite, no long lock) and keeps answering through the analyst views, which
-- now read both tables; the service writes only the new table. drop_decision_partitions()
-- retires legacy days with the same retention. Nothing reads features from either table.

ALTER TABLE @schema@.decisions RENAME TO decisions_legacy;

DO $$
DECLARE
    part record;
BEGIN
    FOR part IN
        SELECT c.relname
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = to_regclass(format('%I.decisions_legacy', @schema_literal@))
    LOOP
        EXECUTE format('ALTER TABLE %I.%I RENAME TO %I', @schema_literal@, part.relname,
                       'decisions_legacy' || substring(part.relname from 10));
    END LOOP;
END
$$;

-- The legacy rows are history: nothing writes them any more.
REVOKE INSERT ON @schema@.decisions_legacy FROM @service_role@;

-- Every scored event, append-only, partitioned by the Kafka record's timestamp (see 0001 for
-- why the record timestamp belongs to the unique key).
CREATE TABLE @schema@.decisions (
    kafka_timestamp  timestamptz      NOT NULL,
    kafka_offset     bigint           NOT NULL,
    event_time       timestamptz      NOT NULL,
    decided_at       timestamptz      NOT NULL,
    amount           double precision NOT NULL,
    model_version    bigint           NOT NULL,
    kafka_partition  integer          NOT NULL,
    anomaly_score    real             NOT NULL,
    classifier_score real             NOT NULL,
    risk             real             NOT NULL,
    topic            text             NOT NULL,
    event_id         text             NOT NULL,
    card_id          text             NOT NULL,
    merchant_id      text             NOT NULL,
    currency         text             NOT NULL,
    decision         text             NOT NULL CHECK (decision IN ('allow', 'review', 'block')),
    -- `kind:name=weight;...`, strongest first; kinds r (reconstruction), c (classifier), p (policy rule).
    reasons          text             NOT NULL DEFAULT '',
    -- The scored feature vector, for alerted and sampled decisions only.
    features         real[],
    CONSTRAINT decisions_record_key UNIQUE (kafka_partition, kafka_offset, topic, kafka_timestamp)
) PARTITION BY RANGE (kafka_timestamp);

CREATE TABLE @schema@.decisions_default PARTITION OF @schema@.decisions DEFAULT;

CREATE INDEX decisions_event_hash ON @schema@.decisions USING hash (event_id);
CREATE INDEX decisions_card_hash ON @schema@.decisions USING hash (card_id);

GRANT SELECT, INSERT ON @schema@.decisions TO @service_role@;

SELECT @schema@.create_decision_partitions(7, (now() AT TIME ZONE 'UTC')::date - 1);

-- Retention drops the legacy table's days by the same rule.
CREATE OR REPLACE FUNCTION @schema@.drop_decision_partitions(keep_days integer)
RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    cutoff  date;
    part    record;
    dropped integer := 0;
BEGIN
    IF keep_days IS NULL OR keep_days < 1 THEN
        RAISE EXCEPTION 'keep_days must be at least 1' USING ERRCODE = '22023';
    END IF;
    cutoff := (now() AT TIME ZONE 'UTC')::date - keep_days;
    PERFORM pg_advisory_xact_lock(hashtextextended('vigil partitions ' || @schema_literal@, 0));
    FOR part IN
        SELECT c.relname
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent IN (to_regclass(format('%I.decisions', @schema_literal@)),
                              to_regclass(format('%I.decisions_legacy', @schema_literal@)))
          AND c.relname ~ '^decisions_(legacy_)?[0-9]{8}$'
          AND to_date(right(c.relname, 8), 'YYYYMMDD') < cutoff
    LOOP
        EXECUTE format('DROP TABLE %I.%I', @schema_literal@, part.relname);
        dropped := dropped + 1;
    END LOOP;
    RETURN dropped;
END
$$;

-- The analyst views read both tables (same columns and types as in 0004).
CREATE OR REPLACE VIEW @schema@.decision_summary_daily AS
SELECT (decided_at AT TIME ZONE 'UTC')::date AS day, model_version, decision,
       count(*) AS decisions, round(avg(risk)::numeric, 4) AS avg_risk, round(sum(amount)::numeric, 2) AS amount
FROM (
    SELECT decided_at, model_version, decision, risk, amount FROM @schema@.decisions
    UNION ALL
    SELECT decided_at, model_version, decision, risk, amount FROM @schema@.decisions_legacy
) d
GROUP BY 1, 2, 3;

CREATE OR REPLACE VIEW @schema@.card_timeline AS
SELECT d.card_id, d.decided_at AS at, 'decision'::text AS kind, d.event_id, d.merchant_id, d.amount, d.currency,
       d.decision, d.risk, d.model_version, NULL::text AS status, NULL::text AS label, NULL::text AS actor
FROM (
    SELECT card_id, decided_at, event_id, merchant_id, amount, currency, decision, risk, model_version FROM @schema@.decisions
    UNION ALL
    SELECT card_id, decided_at, event_id, merchant_id, amount, currency, decision, risk, model_version FROM @schema@.decisions_legacy
) d
UNION ALL
SELECT a.card_id, a.created_at, 'alert', a.event_id, a.merchant_id, a.amount, a.currency,
       a.decision, a.risk, a.model_version, a.status, NULL, NULL
FROM @schema@.alerts a
UNION ALL
SELECT a.card_id, a.disposition_at, 'disposition', a.event_id, a.merchant_id, a.amount, a.currency,
       a.decision, a.risk, a.model_version, a.status, NULL, a.disposition_by
FROM @schema@.alerts a
WHERE a.status <> 'open'
UNION ALL
SELECT d.card_id, l.labeled_at, 'label', l.event_id, d.merchant_id, d.amount, d.currency,
       d.decision, d.risk, d.model_version, NULL, l.label, coalesce(l.set_by, l.source)
FROM @schema@.labels l
JOIN (
    SELECT card_id, event_id, merchant_id, amount, currency, decision, risk, model_version FROM @schema@.decisions
    UNION ALL
    SELECT card_id, event_id, merchant_id, amount, currency, decision, risk, model_version FROM @schema@.decisions_legacy
) d ON d.event_id = l.event_id;
