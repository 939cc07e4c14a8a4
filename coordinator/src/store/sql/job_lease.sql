-- Claim the next queued job that fits the worker's free resources, in one statement: the row
-- lock (SKIP LOCKED) lets concurrent leases pass each other, and the epoch bump makes the new
-- lease's fencing token. GPU ids are the first `req_gpus` of the worker's free ones.
-- $1 worker id, $2 lease TTL (s), $3 free GPU ids, $4 free CPU millis, $5 free memory bytes.
UPDATE jobs j
SET state = 'leased',
    worker_id = $1,
    epoch = j.epoch + 1,
    attempt = j.attempt + 1,
    gpu_ids = ($3::integer[])[1:j.req_gpus],
    leased_at = now(),
    lease_expires_at = now() + make_interval(secs => $2)
FROM nodes n
WHERE n.id = j.node_id
  AND j.id = (
    SELECT id FROM jobs
    WHERE state = 'queued'
      AND req_gpus <= cardinality($3::integer[])
      AND req_cpu_millis <= $4
      AND req_memory_bytes <= $5
    ORDER BY priority DESC, created_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED)
RETURNING j.id, j.node_id, j.epoch, j.attempt, j.req_gpus, j.req_cpu_millis, j.req_memory_bytes,
          j.timeout_ms, j.task_id, j.data_dir, j.gpu_ids, n.code
