SELECT id, task_dir, task_id, policy, policy_config, operator_config, seed, max_nodes,
       max_wall_ms, node_timeout_ms, parallelism, req_gpus, req_cpu_millis, req_memory_bytes,
       state, error, selected_node, oracle_node,
       (extract(epoch FROM now() - created_at) * 1000)::bigint AS age_ms
FROM runs WHERE id = $1
