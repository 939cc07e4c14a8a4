SELECT answer, model, tokens_in, tokens_out, latency_ms, cost_usd, replayed
FROM llm_calls WHERE key = $1
