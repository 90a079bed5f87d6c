-- Registry retention. Every publication of the online learner stores a full model set
-- (about 8.5 MB with the standard spec); at one publication every 30 s that is over 20 GB a
-- day. prune_model_weights drops the weights of old versions and keeps their rows: lineage,
-- metrics, checksum and times stay for the audit trail (every decision names its version).
-- Kept: the live version and the `keep` newest versions. A pruned version cannot be
-- promoted or rolled back to (its weights are gone); `vigil models list` says so.
ALTER TABLE @schema@.models ALTER COLUMN weights DROP NOT NULL;
ALTER TABLE @schema@.models ADD COLUMN weights_pruned_at timestamptz;
ALTER TABLE @schema@.models ADD CONSTRAINT models_weights_kept_or_pruned
    CHECK ((weights IS NULL) = (weights_pruned_at IS NOT NULL));

CREATE FUNCTION @schema@.prune_model_weights(keep integer)
RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    pruned integer;
BEGIN
    IF keep IS NULL OR keep < 1 THEN
        RAISE EXCEPTION 'keep must be at least 1' USING ERRCODE = '22023';
    END IF;
    -- The lock `vigil models promote|rollback` and the first cold start take: a version is
    -- never pruned between a promotion's check of its weights and its commit.
    PERFORM pg_advisory_xact_lock(hashtextextended('vigil models "' || @schema_literal@ || '"', 0));
    UPDATE @schema@.models m SET weights = NULL, weights_pruned_at = now()
    WHERE m.weights IS NOT NULL
      AND NOT (m.promoted_at IS NOT NULL AND m.retired_at IS NULL)
      AND m.version < (SELECT min(k.version) FROM (SELECT version FROM @schema@.models ORDER BY version DESC LIMIT keep) k);
    GET DIAGNOSTICS pruned = ROW_COUNT;
    RETURN pruned;
END
$$;

GRANT EXECUTE ON FUNCTION @schema@.prune_model_weights(integer) TO @service_role@;
