-- The claim (job_lease.sql) takes the oldest fitting queued job of each running sweep, then
-- ranks those few heads; this index makes each head one short index scan instead of a sort
-- of the whole queue.
CREATE INDEX jobs_queued_by_sweep ON jobs (sweep_id, priority DESC, created_at, id)
    WHERE state = 'queued';
