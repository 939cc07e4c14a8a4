INSERT INTO runs (id, task_dir, task_id, policy, policy_config, operator_config, seed, max_nodes,
                  max_wall_ms, node_timeout_ms, parallelism, req_gpus, req_cpu_millis, req_memory_bytes,
                  req_disk_bytes, image)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
