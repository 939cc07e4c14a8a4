-- Every run of a new sweep in one statement (a sweep of 1,000 runs is one round trip). The
-- per-run columns (the operator table carries the run's operator set) come as arrays; the
-- rest is the sweep's.
INSERT INTO runs (id, sweep_id, task_dir, task_id, policy, seed, policy_config, operator_config,
                  max_nodes, max_wall_ms, node_timeout_ms, parallelism, req_gpus,
                  req_cpu_millis, req_memory_bytes, req_disk_bytes,
                  image)
SELECT r.id, $1, r.task_dir, r.task_id, r.policy, r.seed, $7, r.operator_config, $9, $10, $11, $12, $13, $14, $15, $16, $17
FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::bigint[], $8::jsonb[])
     AS r (id, task_dir, task_id, policy, seed, operator_config)
