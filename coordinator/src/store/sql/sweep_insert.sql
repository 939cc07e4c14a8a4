-- A new sweep, unless the same spec was submitted before (then nothing: the caller finds it).
-- Its service starts at the least of the running sweeps' (see job_lease.sql).
INSERT INTO sweeps (id, name, fingerprint, spec, priority, service)
VALUES ($1, $2, $3, $4, $5,
        coalesce((SELECT min(service) FROM sweeps WHERE state = 'running'), 0))
ON CONFLICT (fingerprint) DO NOTHING
RETURNING id
