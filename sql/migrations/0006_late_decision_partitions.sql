-- 0006: create_decision_partitions() also handles a day that already has rows in
-- decisions_default (its partition was created late): those rows move into the new daily
-- partition in the same transaction, instead of PostgreSQL refusing the partition (which left
-- every later row of that day in the default partition). `vigil serve` calls it at start and
-- daily, from yesterday through `partition_days_ahead` days ahead. Rows of days before
-- `from_day` stay in decisions_default (queryable through decisions). Retention stays the
-- owner's call: drop_decision_partitions(keep_days).

CREATE OR REPLACE FUNCTION @schema@.create_decision_partitions(
    days_ahead integer DEFAULT 7,
    from_day   date    DEFAULT (now() AT TIME ZONE 'UTC')::date
) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    day     date;
    name    text;
    lo      timestamptz;
    hi      timestamptz;
    created integer := 0;
BEGIN
    IF days_ahead IS NULL OR days_ahead < 0 OR days_ahead > 366 THEN
        RAISE EXCEPTION 'days_ahead must be between 0 and 366' USING ERRCODE = '22023';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('vigil partitions ' || @schema_literal@, 0));
    FOR i IN 0..days_ahead LOOP
        day := from_day + i;
        name := 'decisions_' || to_char(day, 'YYYYMMDD');
        CONTINUE WHEN to_regclass(format('%I.%I', @schema_literal@, name)) IS NOT NULL;
        lo := day::timestamp AT TIME ZONE 'UTC';
        hi := (day + 1)::timestamp AT TIME ZONE 'UTC';
        IF EXISTS (SELECT 1 FROM @schema@.decisions_default WHERE kafka_timestamp >= lo AND kafka_timestamp < hi) THEN
            -- Late: no row may reach the default partition for this day while its rows move
            -- (inserts routed there wait for this transaction), then the filled table is
            -- attached; ATTACH builds the partitioned indexes (the unique key among them).
            EXECUTE format('LOCK TABLE %I.decisions_default IN ACCESS EXCLUSIVE MODE', @schema_literal@);
            EXECUTE format('CREATE TABLE %I.%I (LIKE %I.decisions INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                           @schema_literal@, name, @schema_literal@);
            EXECUTE format('WITH moved AS (DELETE FROM %I.decisions_default WHERE kafka_timestamp >= $1 AND kafka_timestamp < $2 RETURNING *) '
                           'INSERT INTO %I.%I SELECT * FROM moved', @schema_literal@, @schema_literal@, name)
                USING lo, hi;
            EXECUTE format('ALTER TABLE %I.decisions ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
                           @schema_literal@, @schema_literal@, name, lo, hi);
        ELSE
            EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.decisions FOR VALUES FROM (%L) TO (%L)',
                           @schema_literal@, name, @schema_literal@, lo, hi);
        END IF;
        created := created + 1;
    END LOOP;
    RETURN created;
END
$$;
