SELECT id, name, state, priority, created_at, finished_at, blocked
FROM sweeps ORDER BY created_at DESC, id
