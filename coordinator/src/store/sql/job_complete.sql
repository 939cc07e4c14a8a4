-- Record a job's outcome, only under the current lease (the fence).
UPDATE jobs
SET state = 'succeeded', outcome = $3, submission = $4, finished_at = now(), error = NULL,
    lease_expires_at = NULL, gpu_ids = '{}'
WHERE id = $1 AND epoch = $2 AND state = 'leased'
RETURNING node_id
