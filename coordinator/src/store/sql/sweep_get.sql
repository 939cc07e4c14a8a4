SELECT id, name, state, priority, created_at, finished_at, blocked
FROM sweeps WHERE id = $1
