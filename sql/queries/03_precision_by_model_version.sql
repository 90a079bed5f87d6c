-- Did the latest model versions get better? Alert precision per model version,
-- next to each version's state in the registry.
SELECT o.model_version, h.state, h.promoted_at, o.alerts, o.fraud, o.legit, o.open, o.precision
FROM vigil.alert_outcomes_by_model o
LEFT JOIN vigil.model_history h ON h.version = o.model_version
ORDER BY o.model_version;
