-- 0003: the two roles and what each may do.
--
-- @service_role@ (default vigil_service): what `vigil serve` writes; no DDL; may
--   INSERT and SELECT decisions but never UPDATE, DELETE or TRUNCATE them.
-- @analyst_role@ (default vigil_analyst): SELECT on the analyst views (0004) and
--   EXECUTE on set_alert_disposition(); nothing on the tables themselves.
--
-- Both are NOLOGIN group roles: grant them to login users
-- (`GRANT vigil_analyst TO alice;`). Roles are cluster-wide, so they are created
-- only when missing; an advisory lock serialises migrations of different
-- schemas that create the same roles.

SELECT pg_advisory_xact_lock(hashtextextended('vigil roles', 0));

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = @service_role_literal@) THEN
        CREATE ROLE @service_role@ NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = @analyst_role_literal@) THEN
        CREATE ROLE @analyst_role@ NOLOGIN;
    END IF;
END
$$;

REVOKE ALL ON SCHEMA @schema@ FROM PUBLIC;
GRANT USAGE ON SCHEMA @schema@ TO @service_role@, @analyst_role@;
REVOKE ALL ON ALL TABLES IN SCHEMA @schema@ FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA @schema@ FROM PUBLIC;

-- Partitions are reached through the parent table, whose privileges apply.
GRANT SELECT, INSERT ON @schema@.decisions TO @service_role@;
GRANT SELECT, INSERT ON @schema@.alerts, @schema@.labels, @schema@.dead_letters TO @service_role@;
GRANT SELECT, INSERT, UPDATE ON @schema@.models, @schema@.consumer_offsets, @schema@.backtest_runs TO @service_role@;
-- Old snapshots are pruned by the service once a newer one is committed.
GRANT SELECT, INSERT, DELETE ON @schema@.entity_snapshots TO @service_role@;
GRANT EXECUTE ON FUNCTION @schema@.create_decision_partitions(integer, date) TO @service_role@;
GRANT EXECUTE ON FUNCTION @schema@.advance_offset(text, text, integer, bigint, bigint, text) TO @service_role@;

-- The only way an analyst changes data: set an alert's disposition, which also
-- records the verdict as a label for the trainer and notifies listeners on the
-- channel "<schema>_labels" with the event id. Who: session_user (the analyst's
-- login, not the definer). Changing one's mind is allowed; each call adds a label.
CREATE FUNCTION @schema@.set_alert_disposition(p_alert_id bigint, p_status text, p_note text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_event_id text;
BEGIN
    IF p_status IS NULL OR p_status NOT IN ('fraud', 'legit') THEN
        RAISE EXCEPTION 'disposition must be fraud or legit' USING ERRCODE = '22023';
    END IF;
    UPDATE @schema@.alerts
    SET status = p_status, disposition_by = session_user, disposition_at = now(), disposition_note = p_note
    WHERE alert_id = p_alert_id
    RETURNING event_id INTO v_event_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no alert with id %', p_alert_id USING ERRCODE = 'P0002';
    END IF;
    INSERT INTO @schema@.labels (event_id, label, source, labeled_at, set_by, alert_id)
    VALUES (v_event_id, p_status, 'analyst', now(), session_user, p_alert_id);
    PERFORM pg_notify(@schema_literal@ || '_labels', v_event_id);
END
$$;

REVOKE EXECUTE ON FUNCTION @schema@.set_alert_disposition(bigint, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @schema@.set_alert_disposition(bigint, text, text) TO @analyst_role@;
