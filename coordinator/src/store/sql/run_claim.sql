-- Take (or keep) the running runs that no live driver holds: this coordinator's own, those
-- never taken, and those whose driver's lease ran out (it died). $1 driver name, $2 TTL (s).
UPDATE runs
SET driver = $1, driver_expires_at = now() + make_interval(secs => $2)
WHERE state = 'running'
  AND (driver IS NULL OR driver = $1 OR driver_expires_at < now())
RETURNING id
