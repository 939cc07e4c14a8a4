-- What a finished run's span and, once the run was its sweep's last, the sweep's span say.
SELECT r.id, r.sweep_id, r.task_id, r.policy, r.seed, r.state, r.error, r.created_at,
       r.finished_at, (SELECT count(*) FROM nodes n WHERE n.run_id = r.id) AS nodes,
       s.name AS sweep_name, s.state AS sweep_state, s.created_at AS sweep_created_at,
       s.finished_at AS sweep_finished_at
FROM runs r
LEFT JOIN sweeps s ON s.id = r.sweep_id
WHERE r.id = $1
