-- Renew the leases a worker still holds; the ids returned are the ones renewed, every other
-- lease it claimed is lost to it (expired and re-leased, or ended).
UPDATE jobs j
SET lease_expires_at = now() + make_interval(secs => $2)
FROM unnest($3::uuid[], $4::bigint[]) AS held (id, epoch)
WHERE j.id = held.id AND j.epoch = held.epoch AND j.state = 'leased' AND j.worker_id = $1
RETURNING j.id
