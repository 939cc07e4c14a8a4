-- The claim's single evaluations (jobs of no sweep): `sweep_id IS NULL` is no equality for the
-- planner, so jobs_queued_by_sweep found them but not in order, and every claim sorted the
-- whole queue of single evaluations. This index hands them over in claim order.
CREATE INDEX jobs_queued_single ON jobs (priority DESC, created_at, id)
    WHERE state = 'queued' AND sweep_id IS NULL;
