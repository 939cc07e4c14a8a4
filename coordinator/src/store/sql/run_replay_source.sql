-- The run of sweep $1 that a replaying run takes its answers from: the same task, policy,
-- seed and prompt set ($5, "aira" when unset).
SELECT id FROM runs
WHERE sweep_id = $1 AND task_id = $2 AND policy = $3 AND seed = $4
  AND coalesce(operator_config ->> 'set', 'aira') = $5
ORDER BY created_at
LIMIT 1
