-- Which model is live, where did it come from, and how long did each version
-- last? The registry in version order with lineage and recorded metrics.
SELECT version, parent_version, kind, state, created_at, promoted_at, retired_at, live_for,
       metrics ->> 'auc' AS auc, weight_bytes
FROM vigil.model_history
ORDER BY version;
