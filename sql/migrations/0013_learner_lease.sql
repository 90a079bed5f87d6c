-- 0013: one learner per consumer group. Every `vigil serve` instance joins labels to the
-- vectors it scored and sends the examples through the training topic; only the holder of the
-- group's learner lease learns from that topic and publishes model versions.
--
-- The lease is a row with a fencing token that grows by one at every acquisition. A learner
-- renews it well within its TTL; once it has expired any member may take it (token + 1). A
-- publication checks the token in the transaction that stores and promotes the version
-- (publish_learner_version), so a former learner that was paused (SIGSTOP, a long GC-like
-- stall, a network partition) and wakes up after losing the role is refused: two holders of
-- the role can never both publish.
--
-- learner_positions records, with every version the learner published, how far into the
-- training topic that version has learnt (the next offset of each partition). A new learner
-- starts from the live version and resumes the topic there, so every example is learnt once
-- by the model lineage whatever member held the role when it arrived.

CREATE TABLE @schema@.learner_lease (
    group_id    text        PRIMARY KEY,
    holder      text        NOT NULL,
    token       bigint      NOT NULL CHECK (token >= 1),
    acquired_at timestamptz NOT NULL,
    renewed_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    -- Acquisitions in total (the first one included): handovers are this minus one.
    acquisitions bigint     NOT NULL DEFAULT 1
);

CREATE TABLE @schema@.learner_positions (
    version         bigint  NOT NULL REFERENCES @schema@.models (version),
    topic           text    NOT NULL,
    kafka_partition integer NOT NULL,
    -- The first example of this partition the version has not learnt.
    next_offset     bigint  NOT NULL CHECK (next_offset >= 0),
    -- The fencing token the version was published under.
    learner_token   bigint  NOT NULL,
    PRIMARY KEY (version, topic, kafka_partition)
);

-- Takes or renews the group's lease for `holder`. Returns the token while `holder` holds it:
-- the same token on a renewal, a new one (the previous + 1) when it takes over another
-- member's expired lease; NULL while another member holds an unexpired lease. Wall time is
-- clock_timestamp(), not the transaction's start, so a long transaction cannot stretch a lease.
CREATE FUNCTION @schema@.claim_learner_lease(p_group text, p_holder text, p_ttl_ms integer)
RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    current @schema@.learner_lease%ROWTYPE;
    granted bigint;
BEGIN
    IF p_ttl_ms IS NULL OR p_ttl_ms < 100 THEN
        RAISE EXCEPTION 'lease ttl must be at least 100 ms' USING ERRCODE = '22023';
    END IF;
    INSERT INTO @schema@.learner_lease (group_id, holder, token, acquired_at, renewed_at, expires_at)
    VALUES (p_group, p_holder, 1, clock_timestamp(), clock_timestamp(), clock_timestamp() + p_ttl_ms * interval '1 millisecond')
    ON CONFLICT (group_id) DO NOTHING
    RETURNING token INTO granted;
    IF granted IS NOT NULL THEN
        RETURN granted;
    END IF;
    SELECT * INTO current FROM @schema@.learner_lease WHERE group_id = p_group FOR UPDATE;
    -- The holder keeps its token even past the expiry when nobody took the lease meanwhile:
    -- no other member can have published, and a renewal that waited on the holder's own long
    -- publication (the row lock) must not cost it its tenure.
    IF current.holder = p_holder THEN
        UPDATE @schema@.learner_lease
        SET renewed_at = clock_timestamp(), expires_at = clock_timestamp() + p_ttl_ms * interval '1 millisecond'
        WHERE group_id = p_group;
        RETURN current.token;
    END IF;
    IF current.expires_at > clock_timestamp() THEN
        RETURN NULL;
    END IF;
    -- Expired and held by another member: taken over under the next token, which fences it.
    UPDATE @schema@.learner_lease
    SET holder = p_holder, token = current.token + 1, acquired_at = clock_timestamp(), renewed_at = clock_timestamp(),
        expires_at = clock_timestamp() + p_ttl_ms * interval '1 millisecond', acquisitions = current.acquisitions + 1
    WHERE group_id = p_group;
    RETURN current.token + 1;
END
$$;

-- Gives the lease up at once (a learner shutting down), if `holder` still holds `p_token`.
CREATE FUNCTION @schema@.release_learner_lease(p_group text, p_holder text, p_token bigint)
RETURNS boolean
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    UPDATE @schema@.learner_lease SET expires_at = clock_timestamp()
    WHERE group_id = p_group AND holder = p_holder AND token = p_token AND expires_at > clock_timestamp()
    RETURNING true;
$$;

-- Locks the lease row for the calling transaction if `p_token` is the group's current,
-- unexpired token: the first statement of every learner publication. A claim of the lease
-- by another member waits for the publication's commit, and a token that is no longer
-- current raises 'fenced' (SQLSTATE VL001), which rolls the whole publication back.
CREATE FUNCTION @schema@.check_learner_token(p_group text, p_token bigint)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM 1 FROM @schema@.learner_lease
    WHERE group_id = p_group AND token = p_token AND expires_at > clock_timestamp()
    FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'learner token % of group % is fenced: another member holds the lease or it expired', p_token, p_group
            USING ERRCODE = 'VL001';
    END IF;
END
$$;

GRANT SELECT, INSERT, UPDATE ON @schema@.learner_lease TO @service_role@;
GRANT SELECT, INSERT ON @schema@.learner_positions TO @service_role@;
GRANT EXECUTE ON FUNCTION @schema@.claim_learner_lease(text, text, integer), @schema@.release_learner_lease(text, text, bigint),
    @schema@.check_learner_token(text, bigint) TO @service_role@;
