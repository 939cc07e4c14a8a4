-- A sweep completes when its last run ends. $1: a run that just ended.
UPDATE sweeps s SET state = 'completed', finished_at = now()
WHERE s.id = (SELECT sweep_id FROM runs WHERE id = $1)
  AND s.state = 'running'
  AND NOT EXISTS (
    SELECT 1 FROM runs r WHERE r.sweep_id = s.id AND r.state IN ('running', 'paused'))
