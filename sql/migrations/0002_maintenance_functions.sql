-- 0002: partition maintenance for decisions, and the offset compare-and-set.

-- Creates the daily partitions decisions_YYYYMMDD (UTC days of kafka_timestamp) from from_day to
-- from_day + days_ahead when missing; returns how many it created. The service
-- calls it at start and daily (it may: SECURITY DEFINER, the service has no DDL
-- rights of its own). An advisory lock serialises concurrent callers.
-- A day whose rows already went to decisions_default cannot get a partition
-- (PostgreSQL refuses); such rows stay queryable through decisions.
CREATE FUNCTION @schema@.create_decision_partitions(
    days_ahead integer DEFAULT 7,
    from_day   date    DEFAULT (now() AT TIME ZONE 'UTC')::date
) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    day     date;
    name    text;
    created integer := 0;
BEGIN
    IF days_ahead IS NULL OR days_ahead < 0 OR days_ahead > 366 THEN
        RAISE EXCEPTION 'days_ahead must be between 0 and 366' USING ERRCODE = '22023';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('vigil partitions ' || @schema_literal@, 0));
    FOR i IN 0..days_ahead LOOP
        day := from_day + i;
        name := 'decisions_' || to_char(day, 'YYYYMMDD');
        IF to_regclass(format('%I.%I', @schema_literal@, name)) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I.%I PARTITION OF %I.decisions FOR VALUES FROM (%L) TO (%L)',
                @schema_literal@, name, @schema_literal@,
                (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END
$$;

-- Drops daily partitions whose whole day is older than keep_days before today
-- (UTC); returns how many partitions it dropped.
-- Retention deletes audit rows, so only the schema owner may run it.
CREATE FUNCTION @schema@.drop_decision_partitions(keep_days integer)
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
        WHERE i.inhparent = to_regclass(format('%I.decisions', @schema_literal@))
          AND c.relname ~ '^decisions_[0-9]{8}$'
          AND to_date(substring(c.relname from 11), 'YYYYMMDD') < cutoff
    LOOP
        EXECUTE format('DROP TABLE %I.%I', @schema_literal@, part.relname);
        dropped := dropped + 1;
    END LOOP;
    RETURN dropped;
END
$$;

-- Compare-and-set of a consumer's stored offset, called in the transaction that
-- writes the batch. expected NULL means "no row yet" (first commit of a
-- partition). Returns false when another consumer moved the offset first (this
-- one lost the partition): the caller must roll back its batch.
CREATE FUNCTION @schema@.advance_offset(
    p_group text, p_topic text, p_partition integer,
    p_expected bigint, p_next bigint, p_member text DEFAULT NULL
) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_expected IS NULL THEN
        INSERT INTO @schema@.consumer_offsets (group_id, topic, kafka_partition, next_offset, updated_by)
        VALUES (p_group, p_topic, p_partition, p_next, p_member)
        ON CONFLICT DO NOTHING;
    ELSE
        UPDATE @schema@.consumer_offsets
        SET next_offset = p_next, updated_at = now(), updated_by = p_member
        WHERE group_id = p_group AND topic = p_topic AND kafka_partition = p_partition
          AND next_offset = p_expected;
    END IF;
    RETURN FOUND;
END
$$;

SELECT @schema@.create_decision_partitions(7, (now() AT TIME ZONE 'UTC')::date - 1);
