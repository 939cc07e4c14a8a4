SELECT r.id, r.task_dir, r.task_id, r.policy, r.policy_config, r.operator_config, r.seed,
       r.max_nodes, r.max_wall_ms, r.node_timeout_ms, r.parallelism, r.req_gpus,
       r.req_cpu_millis, r.req_memory_bytes, r.req_disk_bytes, r.image, r.state, r.error, r.selected_node, r.oracle_node,
       r.sweep_id, coalesce(s.priority, 0) AS priority
FROM runs r LEFT JOIN sweeps s ON s.id = r.sweep_id
WHERE r.id = $1
