-- Claim up to $6 queued jobs that fit the worker's free resources, in one statement: the row
-- locks (SKIP LOCKED) let concurrent leases pass each other, and each epoch bump makes that
-- lease's fencing token.
--
-- Order: priority first; among equal priorities, the sweep with the least service (leases
-- granted so far, charged here), so a sweep of 1,000 runs does not starve one of 10; then
-- the oldest job. Each running sweep offers its $6 oldest fitting jobs (one index scan on
-- jobs_queued_by_sweep), single evaluations (no sweep, service 0) offer theirs, and the k-th
-- job a sweep offers counts as if the sweep had k more leases: a batch interleaves sweeps the
-- way as many single leases would. Paused sweeps offer none.
--
-- The batch is the longest prefix of that order whose sums fit the free CPU, memory, disk and
-- GPUs; each job takes the next `req_gpus` of the worker's free GPU ids.
-- $1 worker id, $2 lease TTL (s), $3 free GPU ids, $4 free CPU millis, $5 free memory bytes,
-- $6 most jobs, $7 free disk bytes, $8 the runtime images it can run, its own included (a job
-- without an image runs in the worker's own).
WITH offered AS (
    SELECT o.*, s.service
    FROM sweeps s
    CROSS JOIN LATERAL (
        SELECT j.id, j.sweep_id, j.priority, j.created_at, j.req_gpus, j.req_cpu_millis,
               j.req_memory_bytes, j.req_disk_bytes
        FROM jobs j
        WHERE j.sweep_id = s.id
          AND j.state = 'queued'
          AND j.req_gpus <= cardinality($3::integer[])
          AND j.req_cpu_millis <= $4
          AND j.req_memory_bytes <= $5
          AND j.req_disk_bytes <= $7
          AND (j.image IS NULL OR j.image = ANY($8::text[]))
        ORDER BY j.priority DESC, j.created_at, j.id
        LIMIT $6
        FOR UPDATE OF j SKIP LOCKED
    ) o
    WHERE s.state = 'running'
    UNION ALL
    SELECT e.*, 0
    FROM (
        SELECT j.id, j.sweep_id, j.priority, j.created_at, j.req_gpus, j.req_cpu_millis,
               j.req_memory_bytes, j.req_disk_bytes
        FROM jobs j
        WHERE j.sweep_id IS NULL
          AND j.state = 'queued'
          AND j.req_gpus <= cardinality($3::integer[])
          AND j.req_cpu_millis <= $4
          AND j.req_memory_bytes <= $5
          AND j.req_disk_bytes <= $7
          AND (j.image IS NULL OR j.image = ANY($8::text[]))
        ORDER BY j.priority DESC, j.created_at, j.id
        LIMIT $6
        FOR UPDATE OF j SKIP LOCKED
    ) e
),
ranked AS (
    SELECT o.*,
           o.service + row_number() OVER (
               PARTITION BY o.sweep_id ORDER BY o.priority DESC, o.created_at, o.id
           ) AS charged_service
    FROM offered o
),
ordered AS (
    SELECT r.id, r.req_gpus,
           row_number() OVER w AS position,
           sum(r.req_gpus) OVER w AS gpus_through,
           sum(r.req_cpu_millis) OVER w AS cpu_through,
           sum(r.req_memory_bytes) OVER w AS memory_through,
           sum(r.req_disk_bytes) OVER w AS disk_through
    FROM ranked r
    WINDOW w AS (ORDER BY r.priority DESC, r.charged_service, r.created_at, r.id)
),
chosen AS (
    SELECT id, position, gpus_through - req_gpus AS gpus_before
    FROM ordered
    WHERE position <= $6
      AND gpus_through <= cardinality($3::integer[])
      AND cpu_through <= $4
      AND memory_through <= $5
      AND disk_through <= $7
),
leased AS (
    UPDATE jobs j
    SET state = 'leased',
        worker_id = $1,
        epoch = j.epoch + 1,
        attempt = j.attempt + 1,
        gpu_ids = ($3::integer[])[c.gpus_before + 1 : c.gpus_before + j.req_gpus],
        leased_at = now(),
        lease_expires_at = now() + make_interval(secs => $2)
    FROM nodes n, chosen c
    WHERE n.id = j.node_id AND j.id = c.id
    RETURNING j.id, j.node_id, j.epoch, j.attempt, j.req_gpus, j.req_cpu_millis,
              j.req_memory_bytes, j.req_disk_bytes, j.image, j.timeout_ms, j.task_id, j.data_dir, j.gpu_ids, n.code,
              j.sweep_id, j.trace_parent, c.position
),
charged AS (
    UPDATE sweeps s SET service = s.service + l.leases
    FROM (SELECT sweep_id, count(*) AS leases FROM leased GROUP BY sweep_id) l
    WHERE s.id = l.sweep_id
)
SELECT * FROM leased ORDER BY position
