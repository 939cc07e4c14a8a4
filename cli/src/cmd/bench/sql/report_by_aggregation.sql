-- The baseline of `bench scale` and the recount the counters are checked against: what
-- `sweep report` queried before the per-run counters (migration 0014), aggregating every
-- node, job and LLM call of the sweep.
WITH per_run AS (
    SELECT r.id,
           count(n.id) AS nodes,
           count(n.id) FILTER (WHERE n.status = 'ok') AS ok,
           count(n.id) FILTER (WHERE n.status = 'buggy') AS buggy,
           CASE WHEN bool_or((n.grade ->> 'is_lower_better')::boolean)
                THEN min(n.val_score) FILTER (WHERE n.status = 'ok')
                ELSE max(n.val_score) FILTER (WHERE n.status = 'ok') END AS best_val,
           coalesce(sum((j.outcome ->> 'duration_ms')::double precision / 1000
                        * j.req_cpu_millis / 1000), 0) AS cpu_seconds,
           coalesce(sum((j.outcome ->> 'duration_ms')::double precision / 1000
                        * j.req_gpus), 0) AS gpu_seconds
    FROM runs r
    LEFT JOIN nodes n ON n.run_id = r.id
    LEFT JOIN jobs j ON j.node_id = n.id AND j.state = 'succeeded'
    WHERE r.sweep_id = $1
    GROUP BY r.id
),
llm AS (
    SELECT run_id, count(*) AS calls, sum(tokens_in) AS tokens_in,
           sum(tokens_out) AS tokens_out, sum(cost_usd) AS cost_usd
    FROM llm_calls WHERE run_id IN (SELECT id FROM runs WHERE sweep_id = $1)
    GROUP BY run_id
)
SELECT r.id, r.task_id, r.policy, r.seed, r.state, r.error, p.nodes,
       coalesce(r.operator_config->>'backend', 'builtin') AS backend,
       coalesce(r.operator_config->>'set', 'aira') AS operator_set,
       coalesce((r.policy_config->>'use_test_score')::boolean, false) AS use_test_score, p.ok, p.buggy, p.best_val,
       p.cpu_seconds, p.gpu_seconds,
       sel.grade AS selected_grade, ora.grade AS oracle_grade,
       coalesce(l.calls, 0) AS llm_calls, coalesce(l.tokens_in, 0)::bigint AS tokens_in,
       coalesce(l.tokens_out, 0)::bigint AS tokens_out, coalesce(l.cost_usd, 0) AS cost_usd
FROM runs r
JOIN per_run p ON p.id = r.id
LEFT JOIN nodes sel ON sel.id = r.selected_node
LEFT JOIN nodes ora ON ora.id = r.oracle_node
LEFT JOIN llm l ON l.run_id = r.id
ORDER BY r.task_id, r.policy, r.seed
