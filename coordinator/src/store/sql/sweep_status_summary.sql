-- `sweep status` in one row: the sweep's runs and their counters summed. A running run is
-- pending while none of its evaluations has started or ended; the node budget left counts
-- only runs that can still grow; medals are those of completed runs' selected nodes.
SELECT count(*) AS runs,
       count(*) FILTER (WHERE r.state = 'running' AND c.ok + c.buggy + c.jobs_leased = 0)
           AS pending,
       count(*) FILTER (WHERE r.state = 'running' AND c.ok + c.buggy + c.jobs_leased > 0)
           AS running,
       count(*) FILTER (WHERE r.state = 'paused') AS paused,
       count(*) FILTER (WHERE r.state = 'completed') AS completed,
       count(*) FILTER (WHERE r.state = 'failed') AS failed,
       count(*) FILTER (WHERE r.state = 'cancelled') AS cancelled,
       count(*) FILTER (WHERE r.state = 'running' AND r.waiting_for IS NOT NULL)
           AS waiting_for_llm,
       min(r.waiting_for) FILTER (WHERE r.state = 'running') AS waiting_reason,
       coalesce(sum(c.nodes), 0)::bigint AS nodes,
       coalesce(sum(c.ok), 0)::bigint AS ok,
       coalesce(sum(c.buggy), 0)::bigint AS buggy,
       coalesce(sum(c.jobs_queued), 0)::bigint AS queued,
       coalesce(sum(c.jobs_leased), 0)::bigint AS leased,
       coalesce(sum(c.jobs_succeeded), 0)::bigint AS succeeded,
       coalesce(sum(c.jobs_failed), 0)::bigint AS jobs_failed,
       coalesce(sum(c.jobs_cancelled), 0)::bigint AS jobs_cancelled,
       coalesce(sum(greatest(r.max_nodes - c.nodes, 0))
                FILTER (WHERE r.state IN ('running', 'paused')), 0)::bigint AS budget_left,
       count(*) FILTER (WHERE r.selected_medal = 'gold') AS gold,
       count(*) FILTER (WHERE r.selected_medal = 'silver') AS silver,
       count(*) FILTER (WHERE r.selected_medal = 'bronze') AS bronze
FROM runs r
JOIN run_counters c ON c.run_id = r.id
WHERE r.sweep_id = $1
