-- $1 no-op jobs for the raw ceiling: a node and a queued job each, as eval_enqueue makes them.
WITH n AS (
    INSERT INTO nodes (id, task_id, code)
    SELECT gen_random_uuid(), 'bench', 'pass' FROM generate_series(1, $1)
    RETURNING id
)
INSERT INTO jobs (id, node_id, req_gpus, req_cpu_millis, req_memory_bytes, timeout_ms, task_id,
                  data_dir, max_attempts)
SELECT gen_random_uuid(), n.id, 0, 1000, 1 << 20, 60000, 'bench', '/nonexistent', 3 FROM n
