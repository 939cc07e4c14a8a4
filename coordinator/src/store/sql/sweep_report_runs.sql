-- What a report needs of each run of a sweep: its node counts, the best validation score (in
-- the task's direction), LLM usage and compute used (CPU- and GPU-seconds of the evaluations
-- that reported), all from `run_counters`; and the selected and oracle nodes' grades, copied
-- onto the run when it finished.
SELECT r.id, r.task_id, r.policy, r.seed, r.state, r.error, c.nodes::bigint AS nodes,
       coalesce(r.operator_config->>'backend', 'builtin') AS backend,
       coalesce(r.operator_config->>'set', 'aira') AS operator_set,
       coalesce((r.policy_config->>'use_test_score')::boolean, false) AS use_test_score,
       c.ok::bigint AS ok, c.buggy::bigint AS buggy, c.best_val,
       c.cpu_seconds, c.gpu_seconds,
       r.selected_grade, r.oracle_grade,
       c.llm_calls, c.tokens_in, c.tokens_out, c.cost_usd
FROM runs r
JOIN run_counters c ON c.run_id = r.id
WHERE r.sweep_id = $1
ORDER BY r.task_id, r.policy, r.seed
