-- How old is the open backlog? Open alerts bucketed by how long they have waited.
SELECT CASE
           WHEN waiting_for < interval '1 hour' THEN '1: under 1 hour'
           WHEN waiting_for < interval '1 day' THEN '2: under 1 day'
           ELSE '3: a day or more'
       END AS waited,
       count(*) AS alerts, round(max(risk)::numeric, 4) AS max_risk
FROM vigil.open_alerts
GROUP BY 1
ORDER BY 1;
