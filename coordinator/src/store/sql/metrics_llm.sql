-- LLM usage journaled so far.
SELECT count(*) AS calls, coalesce(sum(tokens_in), 0)::bigint AS tokens_in,
       coalesce(sum(tokens_out), 0)::bigint AS tokens_out,
       coalesce(sum(cost_usd), 0)::double precision AS cost_usd
FROM llm_calls
