-- The baseline of `bench scale` and the recount the counters are checked against: what
-- `sweep status` queried before the per-run counters (migration 0014), aggregating every
-- node of the sweep. Every node has exactly one job (a retry reuses it), so only the jobs
-- that have not succeeded are joined, and the succeeded ones are the nodes minus those.
WITH node_counts AS (
    SELECT n.run_id,
           count(*) AS nodes,
           count(*) FILTER (WHERE n.status = 'ok') AS ok,
           count(*) FILTER (WHERE n.status = 'buggy') AS buggy
    FROM nodes n
    WHERE n.run_id IN (SELECT id FROM runs WHERE sweep_id = $1)
    GROUP BY n.run_id
),
open_jobs AS (
    SELECT n.run_id,
           count(*) FILTER (WHERE j.state = 'queued') AS queued,
           count(*) FILTER (WHERE j.state = 'leased') AS leased,
           count(*) FILTER (WHERE j.state = 'failed') AS failed,
           count(*) FILTER (WHERE j.state = 'cancelled') AS cancelled
    FROM jobs j JOIN nodes n ON n.id = j.node_id
    WHERE j.sweep_id = $1 AND j.state <> 'succeeded'
    GROUP BY n.run_id
)
SELECT r.id, r.task_id, r.policy, r.seed, r.state, r.max_nodes, r.max_wall_ms, r.working_ms,
       r.waiting_for, r.error,
       coalesce(c.nodes, 0) AS nodes,
       coalesce(c.ok, 0) AS ok,
       coalesce(c.buggy, 0) AS buggy,
       coalesce(o.queued, 0) AS queued,
       coalesce(o.leased, 0) AS leased,
       coalesce(c.nodes, 0) - coalesce(o.queued + o.leased + o.failed + o.cancelled, 0)
           AS succeeded,
       coalesce(o.failed, 0) AS failed,
       coalesce(o.cancelled, 0) AS cancelled,
       (SELECT medal FROM nodes s WHERE s.id = r.selected_node) AS selected_medal
FROM runs r
LEFT JOIN node_counts c ON c.run_id = r.id
LEFT JOIN open_jobs o ON o.run_id = r.id
WHERE r.sweep_id = $1
ORDER BY r.task_id, r.policy, r.seed
