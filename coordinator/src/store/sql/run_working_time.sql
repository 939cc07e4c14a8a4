-- A run's working time in ms, stored on the run and returned: the union of its jobs' lease
-- intervals (parallel evaluations count once; a running one up to now) plus the latency of its
-- LLM calls. A lease that was lost and requeued is not counted.
WITH spans AS (
    SELECT j.leased_at AS s, coalesce(j.finished_at, now()) AS e
    FROM nodes n
    JOIN jobs j ON j.node_id = n.id
    WHERE n.run_id = $1 AND j.leased_at IS NOT NULL
      AND (j.state = 'leased' OR j.finished_at IS NOT NULL)
),
marked AS (
    -- A span starts a new island when it begins after every earlier span has ended.
    SELECT s, e,
           CASE WHEN s > max(e) OVER (ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING
                                                          AND 1 PRECEDING)
                THEN 1 ELSE 0 END AS starts
    FROM spans
),
islands AS (
    SELECT s, e, sum(starts) OVER (ORDER BY s, e) AS island FROM marked
),
running AS (
    SELECT coalesce(sum(extract(epoch FROM hi - lo)) * 1000, 0) AS ms
    FROM (SELECT min(s) AS lo, max(e) AS hi FROM islands GROUP BY island) merged
),
asking AS (
    SELECT coalesce(sum(latency_ms), 0) AS ms FROM llm_calls WHERE run_id = $1
)
UPDATE runs r
SET working_ms = greatest(r.working_ms, ((SELECT ms FROM running) + (SELECT ms FROM asking))::bigint)
WHERE r.id = $1
RETURNING r.working_ms
