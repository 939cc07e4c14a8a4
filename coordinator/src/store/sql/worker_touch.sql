-- A sign of life from a worker: refresh its heartbeat, and its state (draining or active).
UPDATE workers
SET last_heartbeat_at = now(), state = CASE WHEN $2 THEN 'draining' ELSE 'active' END
WHERE id = $1
RETURNING id
