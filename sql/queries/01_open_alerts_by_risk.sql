-- Which open alerts should an analyst look at first? The 20 riskiest alerts
-- still waiting for a verdict, with how long they have waited.
SELECT alert_id, risk, decision, card_id, merchant_id, amount, currency, model_version, waiting_for
FROM vigil.open_alerts
ORDER BY risk DESC, alert_id
LIMIT 20;
