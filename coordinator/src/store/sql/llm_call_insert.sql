-- The first answer recorded under a key is the one kept: a key never has two answers.
INSERT INTO llm_calls (key, run_id, model, prompt, answer, tokens_in, tokens_out, latency_ms, cost_usd,
                       prompts, fingerprint, replayed)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (key) DO NOTHING
