-- Requeue every job whose lease ran out, or fail it when its attempts are spent. Runs on every
-- coordinator replica; the statement is its own lock.
UPDATE jobs
SET state = CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'queued' END,
    finished_at = CASE WHEN attempt >= max_attempts THEN now() END,
    error = format('lease expired (attempt %s of %s)', attempt, max_attempts),
    lease_expires_at = NULL, gpu_ids = '{}'
WHERE state = 'leased' AND lease_expires_at < now()
RETURNING id, state, node_id
