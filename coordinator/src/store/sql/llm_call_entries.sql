SELECT key, answer, model, tokens_in, tokens_out, latency_ms, cost_usd, replayed, fingerprint
FROM llm_calls WHERE key LIKE $1
