-- What happened to the card behind the riskiest open alert? Its full timeline:
-- decisions, alerts, analyst verdicts and labels, oldest first.
-- (For another card, replace the CTE with: SELECT 'the-card-id' AS card_id.)
WITH card AS (
    SELECT card_id FROM vigil.open_alerts ORDER BY risk DESC, alert_id LIMIT 1
)
SELECT t.at, t.kind, t.event_id, t.merchant_id, t.amount, t.decision, t.risk, t.status, t.label, t.actor
FROM vigil.card_timeline t
JOIN card USING (card_id)
ORDER BY t.at, t.kind, t.event_id;
