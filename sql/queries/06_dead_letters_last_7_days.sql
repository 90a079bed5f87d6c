-- Is bad input piling up? Dead letters of the last 7 days by reason, most
-- frequent first, with an example message of each.
SELECT reason_code, sum(letters) AS letters, min(first_received) AS first_seen,
       max(last_received) AS last_seen, min(example_reason) AS example
FROM vigil.dead_letter_summary
WHERE day >= (now() AT TIME ZONE 'UTC')::date - 7
GROUP BY reason_code
ORDER BY letters DESC, reason_code;
