-- One row per run of a sweep with its node and job counts: `sweep status` sums them.
SELECT r.id, r.task_id, r.policy, r.seed, r.state, r.max_nodes,
       count(n.id) AS nodes,
       count(n.id) FILTER (WHERE n.status = 'ok') AS ok,
       count(n.id) FILTER (WHERE n.status = 'buggy') AS buggy,
       count(j.id) FILTER (WHERE j.state = 'queued') AS queued,
       count(j.id) FILTER (WHERE j.state = 'leased') AS leased,
       count(j.id) FILTER (WHERE j.state = 'succeeded') AS succeeded,
       count(j.id) FILTER (WHERE j.state = 'failed') AS failed,
       count(j.id) FILTER (WHERE j.state = 'cancelled') AS cancelled,
       (SELECT medal FROM nodes s WHERE s.id = r.selected_node) AS selected_medal
FROM runs r
LEFT JOIN nodes n ON n.run_id = r.id
LEFT JOIN jobs j ON j.node_id = n.id
WHERE r.sweep_id = $1
GROUP BY r.id
ORDER BY r.task_id, r.policy, r.seed
