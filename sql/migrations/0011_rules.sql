-- 0011: analysts' rules and lists, versioned, changed only through functions that record who
-- changed what, and announced to `vigil serve` on the channel "<schema>_rules" (payload: the
-- rule or list name) so it reloads, recompiles and swaps its rule set between batches.
--
-- A rule is a row per version: every change (a new expression, outcome or mode) adds the next
-- version; the current rule is the newest version of its name; a rule is retired by mode 'off'.
-- The expression language is checked by `vigil rules add` before it calls save_rule() and again
-- by serve when it loads the set (an invalid set is refused and the current one kept); the
-- database only knows it as text.

CREATE TABLE @schema@.rules (
    name        text        NOT NULL CHECK (name ~ '^[A-Za-z0-9_.-]{1,64}$'),
    version     integer     NOT NULL CHECK (version >= 1),
    expression  text        NOT NULL CHECK (length(expression) BETWEEN 1 AND 4000),
    outcome     text        NOT NULL CHECK (outcome IN ('allow', 'review', 'block')),
    mode        text        NOT NULL CHECK (mode IN ('enforce', 'shadow', 'off')),
    description text,
    author      text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, version)
);

CREATE TABLE @schema@.rule_lists (
    name        text        PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.-]{1,64}$'),
    description text,
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- The values a list holds now, each with who added it and when.
CREATE TABLE @schema@.rule_list_items (
    list_name   text        NOT NULL REFERENCES @schema@.rule_lists (name),
    value       text        NOT NULL CHECK (length(value) BETWEEN 1 AND 256),
    added_by    text        NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    note        text,
    PRIMARY KEY (list_name, value)
);

-- Every addition and removal, append-only: who changed a list, when, and why.
CREATE TABLE @schema@.rule_list_changes (
    change_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    list_name   text        NOT NULL,
    value       text        NOT NULL,
    action      text        NOT NULL CHECK (action IN ('add', 'remove')),
    changed_by  text        NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    note        text
);

-- The rule in force per name: its newest version.
CREATE VIEW @schema@.current_rules AS
SELECT DISTINCT ON (name) name, version, expression, outcome, mode, description, author, created_at
FROM @schema@.rules
ORDER BY name, version DESC;

CREATE VIEW @schema@.rule_versions AS
SELECT name, version, expression, outcome, mode, description, author, created_at FROM @schema@.rules;

-- Every list's values, who added each and when; an empty list is one row with a NULL value.
CREATE VIEW @schema@.rule_list_entries AS
SELECT l.name AS list_name, i.value, i.added_by, i.added_at, i.note
FROM @schema@.rule_lists l LEFT JOIN @schema@.rule_list_items i ON i.list_name = l.name;

CREATE VIEW @schema@.rule_list_history AS
SELECT change_id, list_name, value, action, changed_by, changed_at, note FROM @schema@.rule_list_changes;

-- Saves a new version of a rule (the first when the name is new) and returns its number.
-- Who: session_user, the analyst's login.
CREATE FUNCTION @schema@.save_rule(p_name text, p_expression text, p_outcome text, p_mode text DEFAULT 'enforce',
                                   p_description text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_version integer;
BEGIN
    IF p_mode IS NULL OR p_mode NOT IN ('enforce', 'shadow', 'off') THEN
        RAISE EXCEPTION 'mode must be enforce, shadow or off' USING ERRCODE = '22023';
    END IF;
    IF p_outcome IS NULL OR p_outcome NOT IN ('allow', 'review', 'block') THEN
        RAISE EXCEPTION 'outcome must be allow, review or block' USING ERRCODE = '22023';
    END IF;
    -- One writer per rule name at a time, so versions never collide.
    PERFORM pg_advisory_xact_lock(hashtextextended(@schema_literal@ || '.rules.' || p_name, 0));
    SELECT coalesce(max(version), 0) + 1 INTO v_version FROM @schema@.rules WHERE name = p_name;
    INSERT INTO @schema@.rules (name, version, expression, outcome, mode, description, author)
    VALUES (p_name, v_version, p_expression, p_outcome, p_mode, p_description, session_user);
    PERFORM pg_notify(@schema_literal@ || '_rules', p_name);
    RETURN v_version;
END
$$;

-- Enforce, shadow or switch off a rule: a new version with everything else unchanged.
CREATE FUNCTION @schema@.set_rule_mode(p_name text, p_mode text)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_rule record;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(@schema_literal@ || '.rules.' || p_name, 0));
    SELECT * INTO v_rule FROM @schema@.rules WHERE name = p_name ORDER BY version DESC LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no rule named %', p_name USING ERRCODE = 'P0002';
    END IF;
    IF p_mode IS NULL OR p_mode NOT IN ('enforce', 'shadow', 'off') THEN
        RAISE EXCEPTION 'mode must be enforce, shadow or off' USING ERRCODE = '22023';
    END IF;
    INSERT INTO @schema@.rules (name, version, expression, outcome, mode, description, author)
    VALUES (p_name, v_rule.version + 1, v_rule.expression, v_rule.outcome, p_mode, v_rule.description, session_user);
    PERFORM pg_notify(@schema_literal@ || '_rules', p_name);
    RETURN v_rule.version + 1;
END
$$;

-- Creates a list if it does not exist yet (true when it was created).
CREATE FUNCTION @schema@.create_rule_list(p_name text, p_description text DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO @schema@.rule_lists (name, description, created_by) VALUES (p_name, p_description, session_user)
    ON CONFLICT (name) DO NOTHING;
    IF NOT FOUND THEN RETURN false; END IF;
    PERFORM pg_notify(@schema_literal@ || '_rules', p_name);
    RETURN true;
END
$$;

-- Adds values to a list (created when missing); returns how many were new.
CREATE FUNCTION @schema@.add_to_rule_list(p_name text, p_values text[], p_note text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_added integer;
BEGIN
    INSERT INTO @schema@.rule_lists (name, created_by) VALUES (p_name, session_user) ON CONFLICT (name) DO NOTHING;
    WITH added AS (
        INSERT INTO @schema@.rule_list_items (list_name, value, added_by, note)
        SELECT p_name, v, session_user, p_note FROM unnest(p_values) AS v
        ON CONFLICT (list_name, value) DO NOTHING
        RETURNING value
    ), logged AS (
        INSERT INTO @schema@.rule_list_changes (list_name, value, action, changed_by, note)
        SELECT p_name, value, 'add', session_user, p_note FROM added
        RETURNING 1
    )
    SELECT count(*) INTO v_added FROM logged;
    IF v_added > 0 THEN PERFORM pg_notify(@schema_literal@ || '_rules', p_name); END IF;
    RETURN v_added;
END
$$;

-- Removes values from a list; returns how many were there.
CREATE FUNCTION @schema@.remove_from_rule_list(p_name text, p_values text[], p_note text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_removed integer;
BEGIN
    WITH removed AS (
        DELETE FROM @schema@.rule_list_items WHERE list_name = p_name AND value = ANY (p_values) RETURNING value
    ), logged AS (
        INSERT INTO @schema@.rule_list_changes (list_name, value, action, changed_by, note)
        SELECT p_name, value, 'remove', session_user, p_note FROM removed
        RETURNING 1
    )
    SELECT count(*) INTO v_removed FROM logged;
    IF v_removed > 0 THEN PERFORM pg_notify(@schema_literal@ || '_rules', p_name); END IF;
    RETURN v_removed;
END
$$;

-- Fires per UTC day, rule and mode, from the decisions' reasons (`p:rule.NAME=...` enforced,
-- `s:rule.NAME=...` shadow). A decision keeps four reasons at most, so an event on which more
-- than four rules fired counts only the first four; serve's vigil_rule_hits_total counts all.
CREATE VIEW @schema@.rule_hits_daily AS
SELECT (d.decided_at AT TIME ZONE 'UTC')::date AS day,
       m[2] AS rule,
       CASE m[1] WHEN 'p' THEN 'enforce' ELSE 'shadow' END AS mode,
       count(*) AS hits,
       count(*) FILTER (WHERE d.decision = 'block')  AS blocked,
       count(*) FILTER (WHERE d.decision = 'review') AS reviewed,
       count(*) FILTER (WHERE d.decision = 'allow')  AS allowed
FROM @schema@.decisions d
CROSS JOIN LATERAL regexp_matches(d.reasons, '(?:^|;)([ps]):rule\.([^=;]+)=', 'g') AS m
GROUP BY 1, 2, 3;

-- Precision per rule from analysts' dispositions: of the alerts on which the rule fired and
-- that have a verdict, the share that was fraud (NULL until one has a verdict).
CREATE VIEW @schema@.rule_precision AS
SELECT substr(r->>'name', 6) AS rule,
       CASE r->>'kind' WHEN 'rule' THEN 'enforce' ELSE 'shadow' END AS mode,
       count(*)                                   AS alerts,
       count(*) FILTER (WHERE a.status = 'open')  AS open,
       count(*) FILTER (WHERE a.status = 'fraud') AS fraud,
       count(*) FILTER (WHERE a.status = 'legit') AS legit,
       round(count(*) FILTER (WHERE a.status = 'fraud')::numeric
             / nullif(count(*) FILTER (WHERE a.status <> 'open'), 0), 4) AS precision
FROM @schema@.alerts a
CROSS JOIN LATERAL jsonb_array_elements(a.reasons) AS r
WHERE r->>'kind' IN ('rule', 'shadow_rule') AND r->>'name' LIKE 'rule.%'
GROUP BY 1, 2;

REVOKE ALL ON @schema@.rules, @schema@.rule_lists, @schema@.rule_list_items, @schema@.rule_list_changes FROM PUBLIC;
-- Both roles read rules and lists through the views (which run with the owner's rights).
GRANT SELECT ON @schema@.current_rules, @schema@.rule_versions, @schema@.rule_list_entries TO @service_role@;
GRANT SELECT ON @schema@.current_rules, @schema@.rule_versions, @schema@.rule_list_entries, @schema@.rule_list_history,
    @schema@.rule_hits_daily, @schema@.rule_precision TO @analyst_role@;
REVOKE EXECUTE ON FUNCTION @schema@.save_rule(text, text, text, text, text), @schema@.set_rule_mode(text, text),
    @schema@.create_rule_list(text, text), @schema@.add_to_rule_list(text, text[], text),
    @schema@.remove_from_rule_list(text, text[], text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @schema@.save_rule(text, text, text, text, text), @schema@.set_rule_mode(text, text),
    @schema@.create_rule_list(text, text), @schema@.add_to_rule_list(text, text[], text),
    @schema@.remove_from_rule_list(text, text[], text) TO @analyst_role@;
