-- One row per node of a sweep, for notebooks (`randori sweep export --nodes`): its run, its
-- place in the tree, why it is buggy (in `model::node_status`'s order), its scores and medal,
-- its evaluation (the node's job, one per node as in `run_nodes.sql`: when it was queued,
-- leased and finished, how long the program ran, the attempts, the worker) and the LLM calls
-- made at its step (the operator's call that wrote it, and its analysis; keys are
-- `<run>/<step>[/...]`).
WITH llm AS (
    SELECT c.run_id, split_part(c.key, '/', 2) AS step, count(*) AS calls,
           sum(c.tokens_in) AS tokens_in, sum(c.tokens_out) AS tokens_out,
           sum(c.cost_usd) AS cost_usd, sum(c.latency_ms) / 1000.0 AS llm_seconds
    FROM llm_calls c
    WHERE c.run_id IN (SELECT id FROM runs WHERE sweep_id = $1)
    GROUP BY 1, 2
)
SELECT r.id AS run_id, r.task_id, r.policy, r.seed,
       coalesce(r.operator_config->>'backend', 'builtin') AS backend,
       coalesce(r.operator_config->>'set', 'aira') AS operator_set,
       n.id AS node_id, n.step, n.operator,
       n.parent_ids, n.status,
       CASE WHEN n.status <> 'buggy' THEN NULL
            WHEN j.state = 'failed' THEN 'evaluation failed: ' || coalesce(j.error, 'unknown')
            WHEN (j.outcome ->> 'timed_out')::boolean THEN 'timed out'
            WHEN (j.outcome ->> 'oom_killed')::boolean THEN 'out of memory'
            WHEN (j.outcome ->> 'disk_limit_exceeded')::boolean THEN 'disk limit exceeded'
            WHEN coalesce((j.outcome ->> 'exit_code')::int, -1) <> 0
                THEN 'exit code ' || coalesce(j.outcome ->> 'exit_code', 'none (killed)')
            WHEN NOT coalesce((j.outcome ->> 'submission_exists')::boolean, false)
                THEN 'no submission'
            WHEN (j.outcome ->> 'submission_too_large')::boolean THEN 'submission too large'
            ELSE coalesce(n.grade ->> 'invalid_reason', 'no validation score') END
           AS buggy_reason,
       n.val_score, n.test_score, n.medal, n.above_median,
       (n.grade ->> 'is_lower_better')::boolean AS lower_is_better,
       j.created_at AS queued_at, j.leased_at, j.finished_at,
       (j.outcome ->> 'duration_ms')::double precision / 1000 AS ran_seconds,
       coalesce(j.attempt, 0) AS attempts, j.outcome ->> 'worker_name' AS worker,
       coalesce(l.calls, 0) AS llm_calls, coalesce(l.tokens_in, 0)::bigint AS tokens_in,
       coalesce(l.tokens_out, 0)::bigint AS tokens_out, coalesce(l.cost_usd, 0) AS cost_usd,
       coalesce(l.llm_seconds, 0)::double precision AS llm_seconds
FROM runs r
JOIN nodes n ON n.run_id = r.id
LEFT JOIN jobs j ON j.node_id = n.id
LEFT JOIN llm l ON l.run_id = r.id AND l.step = n.step::text
WHERE r.sweep_id = $1
ORDER BY r.task_id, r.policy, r.seed, r.id, n.step
