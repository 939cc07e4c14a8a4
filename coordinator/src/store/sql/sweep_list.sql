SELECT id, name, state, priority, created_at, finished_at
FROM sweeps ORDER BY created_at DESC, id
