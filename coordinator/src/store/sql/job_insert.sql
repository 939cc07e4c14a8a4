INSERT INTO jobs (id, node_id, priority, req_gpus, req_cpu_millis, req_memory_bytes, timeout_ms,
                  task_id, data_dir, max_attempts, sweep_id, trace_parent, req_disk_bytes,
                  image)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
