SELECT id, name, state, priority, created_at, finished_at
FROM sweeps WHERE id = $1
