-- Claim the next queued job that fits the worker's free resources, in one statement: the row
-- lock (SKIP LOCKED) lets concurrent leases pass each other, and the epoch bump makes the new
-- lease's fencing token. GPU ids are the first `req_gpus` of the worker's free ones.
--
-- Order: priority first; among equal priorities, the sweep with the least service (leases
-- granted so far, charged here), so a sweep of 1,000 runs does not starve one of 10; then
-- the oldest job. Only each running sweep's oldest fitting job (its head, one index scan on
-- jobs_queued_by_sweep) is ranked, with single evaluations (no sweep, service 0) as one more
-- head; paused sweeps have none.
-- $1 worker id, $2 lease TTL (s), $3 free GPU ids, $4 free CPU millis, $5 free memory bytes.
WITH heads AS (
    SELECT h.id, h.priority, h.created_at, s.service
    FROM sweeps s
    CROSS JOIN LATERAL (
        SELECT j.id, j.priority, j.created_at
        FROM jobs j
        WHERE j.sweep_id = s.id
          AND j.state = 'queued'
          AND j.req_gpus <= cardinality($3::integer[])
          AND j.req_cpu_millis <= $4
          AND j.req_memory_bytes <= $5
        ORDER BY j.priority DESC, j.created_at, j.id
        LIMIT 1
        FOR UPDATE OF j SKIP LOCKED
    ) h
    WHERE s.state = 'running'
    UNION ALL
    SELECT e.id, e.priority, e.created_at, 0
    FROM (
        SELECT j.id, j.priority, j.created_at
        FROM jobs j
        WHERE j.sweep_id IS NULL
          AND j.state = 'queued'
          AND j.req_gpus <= cardinality($3::integer[])
          AND j.req_cpu_millis <= $4
          AND j.req_memory_bytes <= $5
        ORDER BY j.priority DESC, j.created_at, j.id
        LIMIT 1
        FOR UPDATE OF j SKIP LOCKED
    ) e
),
next AS (
    SELECT id FROM heads ORDER BY priority DESC, service, created_at, id LIMIT 1
),
leased AS (
    UPDATE jobs j
    SET state = 'leased',
        worker_id = $1,
        epoch = j.epoch + 1,
        attempt = j.attempt + 1,
        gpu_ids = ($3::integer[])[1:j.req_gpus],
        leased_at = now(),
        lease_expires_at = now() + make_interval(secs => $2)
    FROM nodes n, next
    WHERE n.id = j.node_id AND j.id = next.id
    RETURNING j.id, j.node_id, j.epoch, j.attempt, j.req_gpus, j.req_cpu_millis,
              j.req_memory_bytes, j.timeout_ms, j.task_id, j.data_dir, j.gpu_ids, n.code,
              j.sweep_id, j.trace_parent
),
charged AS (
    UPDATE sweeps SET service = service + 1
    WHERE id = (SELECT sweep_id FROM leased)
)
SELECT * FROM leased
