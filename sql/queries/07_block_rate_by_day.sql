-- How often do we block, per day and model version? A jump after a model
-- promotion is the first sign of a bad model.
SELECT day, model_version,
       sum(decisions) AS decisions,
       sum(decisions) FILTER (WHERE decision = 'block') AS blocked,
       round(coalesce(sum(decisions) FILTER (WHERE decision = 'block'), 0) / sum(decisions), 4) AS block_rate
FROM vigil.decision_summary_daily
GROUP BY day, model_version
ORDER BY day, model_version;
