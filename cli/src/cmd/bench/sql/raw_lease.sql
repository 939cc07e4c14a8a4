-- The ceiling's lease: the least a claim can be (SKIP LOCKED, epoch bump, expiry).
UPDATE jobs
SET state = 'leased', worker_id = $1, epoch = epoch + 1, attempt = attempt + 1,
    leased_at = now(), lease_expires_at = now() + interval '30 seconds'
WHERE id = (
    SELECT id FROM jobs WHERE state = 'queued'
    ORDER BY priority DESC, created_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED)
RETURNING id, epoch
