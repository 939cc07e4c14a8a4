-- Cancel, second statement (same transaction, a fresh snapshot, so it sees jobs that drivers
-- committed while the first waited): the sweep's unfinished jobs end. A leased job's holder
-- learns at its next heartbeat (the lease is gone) and stops the container; its report is
-- refused by the fence.
UPDATE jobs SET state = 'cancelled', finished_at = now(), lease_expires_at = NULL,
                gpu_ids = '{}', error = 'sweep cancelled'
WHERE sweep_id = $1 AND state IN ('queued', 'leased')
  AND EXISTS (SELECT 1 FROM sweeps WHERE id = $1 AND state = 'cancelled')
