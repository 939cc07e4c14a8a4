-- Record a job's outcome, only under the current lease (the fence), and its node's status and
-- grade with it: one statement, so one round trip. No row back: the lease was not current.
-- Returns the job's age (its total time, queueing and retries included).
-- $5 node status; $6..$11 the grade's columns ($11 the whole grade), all NULL without one.
WITH done AS (
    UPDATE jobs
    SET state = 'succeeded', outcome = $3, submission = $4, finished_at = now(), error = NULL,
        lease_expires_at = NULL, gpu_ids = '{}'
    WHERE id = $1 AND epoch = $2 AND state = 'leased'
    RETURNING node_id, created_at
)
UPDATE nodes n
SET status = $5, valid_submission = $6, val_score = $7, test_score = $8, medal = $9,
    above_median = $10, grade = $11
FROM done
WHERE n.id = done.node_id
RETURNING n.id, extract(epoch FROM now() - done.created_at)::double precision AS age_seconds
