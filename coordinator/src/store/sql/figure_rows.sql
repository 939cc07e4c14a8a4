-- What the figures need of every node of the picked runs (`randori_report::figures::NodeRow`):
-- its run and what wrote its programs, step, status, scores, medal and direction, when its job
-- was leased and finished (a node has one job, as in `run_nodes.sql`), and the LLM time of its
-- step. Leaner than `sweep_export_nodes.sql`: no job outcome is read, and the jobs are joined
-- as a set. `PICKED_RUNS` is replaced by the store: the runs of a sweep, or one run, each its
-- own statement with its own plan (one statement for both would be planned for neither).
WITH picked AS (
    PICKED_RUNS
), llm AS (
    SELECT c.run_id, split_part(c.key, '/', 2) AS step,
           sum(c.latency_ms) / 1000.0 AS llm_seconds
    FROM llm_calls c
    WHERE c.run_id IN (SELECT id FROM picked)
    GROUP BY 1, 2
)
SELECT r.id AS run_id, r.task_id, r.policy, r.seed,
       coalesce(r.operator_config->>'backend', 'builtin') AS backend,
       coalesce(r.operator_config->>'set', 'aira') AS operator_set,
       n.step, n.status, n.val_score, n.test_score, n.medal,
       (n.grade ->> 'is_lower_better')::boolean AS lower_is_better,
       extract(epoch FROM j.leased_at)::double precision AS leased_at,
       extract(epoch FROM j.finished_at)::double precision AS finished_at,
       coalesce(l.llm_seconds, 0)::double precision AS llm_seconds
FROM picked p
JOIN runs r ON r.id = p.id
JOIN nodes n ON n.run_id = r.id
LEFT JOIN jobs j ON j.node_id = n.id
LEFT JOIN llm l ON l.run_id = r.id AND l.step = n.step::text
ORDER BY r.task_id, r.policy, r.seed, r.id, n.step
