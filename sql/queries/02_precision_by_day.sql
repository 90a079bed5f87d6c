-- How precise were our alerts each day over the last 30 days? Of the alerts
-- that got a verdict, the share that were fraud, with the backlog still open.
SELECT day,
       sum(alerts) AS alerts,
       sum(fraud)  AS fraud,
       sum(legit)  AS legit,
       sum(open)   AS still_open,
       round(sum(fraud) / nullif(sum(fraud) + sum(legit), 0), 4) AS precision
FROM vigil.alert_outcomes_daily
WHERE day >= (now() AT TIME ZONE 'UTC')::date - 30
GROUP BY day
ORDER BY day;
