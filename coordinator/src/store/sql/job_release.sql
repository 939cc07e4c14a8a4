-- A draining worker hands a job back unfinished: requeue it without counting the attempt.
UPDATE jobs
SET state = 'queued', attempt = attempt - 1, error = $3, lease_expires_at = NULL, gpu_ids = '{}'
WHERE id = $1 AND epoch = $2 AND state = 'leased'
RETURNING id
