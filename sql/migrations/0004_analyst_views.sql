-- 0004: the analyst surface. Analysts read these views only (they run with the
-- view owner's rights, so the analyst role needs nothing on the tables), and
-- change data only through set_alert_disposition(). Days are UTC.

-- Alerts waiting for a verdict, riskiest first.
CREATE VIEW @schema@.open_alerts AS
SELECT alert_id, created_at, decided_at, now() - created_at AS waiting_for,
       card_id, merchant_id, amount, currency, decision, risk, model_version, reasons, event_id
FROM @schema@.alerts
WHERE status = 'open'
ORDER BY risk DESC, created_at, alert_id;

-- Outcomes of alerts per day and model version. precision = fraud / (fraud + legit)
-- over alerts with a verdict (NULL until one has one).
CREATE VIEW @schema@.alert_outcomes_daily AS
SELECT (decided_at AT TIME ZONE 'UTC')::date AS day,
       model_version,
       count(*)                                   AS alerts,
       count(*) FILTER (WHERE decision = 'block')  AS blocks,
       count(*) FILTER (WHERE decision = 'review') AS reviews,
       count(*) FILTER (WHERE status = 'open')     AS open,
       count(*) FILTER (WHERE status = 'fraud')    AS fraud,
       count(*) FILTER (WHERE status = 'legit')    AS legit,
       round(count(*) FILTER (WHERE status = 'fraud')::numeric
             / nullif(count(*) FILTER (WHERE status <> 'open'), 0), 4) AS precision
FROM @schema@.alerts
GROUP BY 1, 2;

-- The same per model version over its whole life.
CREATE VIEW @schema@.alert_outcomes_by_model AS
SELECT model_version,
       min(decided_at)                            AS first_alert,
       max(decided_at)                            AS last_alert,
       count(*)                                   AS alerts,
       count(*) FILTER (WHERE status = 'open')     AS open,
       count(*) FILTER (WHERE status = 'fraud')    AS fraud,
       count(*) FILTER (WHERE status = 'legit')    AS legit,
       round(count(*) FILTER (WHERE status = 'fraud')::numeric
             / nullif(count(*) FILTER (WHERE status <> 'open'), 0), 4) AS precision
FROM @schema@.alerts
GROUP BY model_version;

-- Decisions per day, model version and outcome (block rate, risk drift).
CREATE VIEW @schema@.decision_summary_daily AS
SELECT (decided_at AT TIME ZONE 'UTC')::date AS day, model_version, decision,
       count(*) AS decisions, round(avg(risk)::numeric, 4) AS avg_risk, round(sum(amount)::numeric, 2) AS amount
FROM @schema@.decisions
GROUP BY 1, 2, 3;

-- Everything that happened to a card, in time order when sorted by at:
-- decisions, alerts raised, analyst dispositions and labels. Filter by card_id.
CREATE VIEW @schema@.card_timeline AS
SELECT d.card_id, d.decided_at AS at, 'decision'::text AS kind, d.event_id, d.merchant_id, d.amount, d.currency,
       d.decision, d.risk, d.model_version, NULL::text AS status, NULL::text AS label, NULL::text AS actor
FROM @schema@.decisions d
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
JOIN @schema@.decisions d ON d.event_id = l.event_id;

-- The model registry without the weights: lineage, state and metrics.
CREATE VIEW @schema@.model_history AS
SELECT version, parent_version, kind, created_at, promoted_at, retired_at,
       CASE
           WHEN promoted_at IS NULL AND retired_at IS NULL THEN 'candidate'
           WHEN promoted_at IS NULL THEN 'rejected'
           WHEN retired_at IS NULL THEN 'live'
           ELSE 'retired'
       END AS state,
       retired_at - promoted_at AS live_for,
       metrics, octet_length(weights) AS weight_bytes, checksum, note
FROM @schema@.models;

-- Dead letters per day, topic and reason (payloads stay in the table).
CREATE VIEW @schema@.dead_letter_summary AS
SELECT (received_at AT TIME ZONE 'UTC')::date AS day, topic, reason_code,
       count(*) AS letters, min(received_at) AS first_received, max(received_at) AS last_received,
       min(reason) AS example_reason
FROM @schema@.dead_letters
GROUP BY 1, 2, 3;

GRANT SELECT ON @schema@.open_alerts, @schema@.alert_outcomes_daily, @schema@.alert_outcomes_by_model,
    @schema@.decision_summary_daily, @schema@.card_timeline, @schema@.model_history,
    @schema@.dead_letter_summary TO @analyst_role@;
