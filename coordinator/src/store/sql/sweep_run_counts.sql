-- One row per run of a sweep with its node and job counts (`run_counters`, kept by the
-- statements that change them), for `sweep status --runs` and the dashboard.
SELECT r.id, r.task_id, r.policy, r.seed, r.state, r.max_nodes, r.max_wall_ms, r.working_ms,
       r.waiting_for, r.error,
       c.nodes::bigint AS nodes,
       c.ok::bigint AS ok,
       c.buggy::bigint AS buggy,
       c.jobs_queued::bigint AS queued,
       c.jobs_leased::bigint AS leased,
       c.jobs_succeeded::bigint AS succeeded,
       c.jobs_failed::bigint AS failed,
       c.jobs_cancelled::bigint AS cancelled,
       r.selected_medal
FROM runs r
JOIN run_counters c ON c.run_id = r.id
WHERE r.sweep_id = $1
ORDER BY r.task_id, r.policy, r.seed
