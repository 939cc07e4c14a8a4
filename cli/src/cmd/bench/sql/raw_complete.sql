-- The ceiling's fenced completion.
UPDATE jobs
SET state = 'succeeded', outcome = '{}', finished_at = now(), lease_expires_at = NULL
WHERE id = $1 AND epoch = $2 AND state = 'leased'
