-- Sweeps (tasks × policies × seeds), their life cycle, and what the scheduler needs to share
-- workers fairly between them.
--
--   running ──pause──▶ paused ──resume──▶ running
--   running | paused ──cancel──▶ cancelled          (every run and job of it ends)
--   running ──last run ended──▶ completed
--
-- A paused sweep's runs are `paused`: no driver holds them (no new nodes), and its queued jobs
-- are not leased; evaluations already running finish.
CREATE TABLE sweeps (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    -- sha256 of the canonical spec: submitting the same spec again finds this sweep.
    fingerprint text NOT NULL UNIQUE,
    spec        jsonb NOT NULL,
    priority    integer NOT NULL DEFAULT 0,
    -- Leases granted so far (virtual time for fair share): among sweeps of equal priority the
    -- next lease goes to the one with the least. A sweep starts (and resumes) at the least
    -- of the running ones, so it neither starves them nor waits behind their history.
    service     double precision NOT NULL DEFAULT 0,
    state       text NOT NULL DEFAULT 'running'
                CHECK (state IN ('running', 'paused', 'completed', 'cancelled')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    CONSTRAINT final_has_finish_time CHECK ((state IN ('completed', 'cancelled')) = (finished_at IS NOT NULL))
);

ALTER TABLE runs ADD COLUMN sweep_id uuid REFERENCES sweeps (id);
ALTER TABLE runs DROP CONSTRAINT runs_state_check;
ALTER TABLE runs DROP CONSTRAINT final_has_finish_time;
ALTER TABLE runs
    ADD CONSTRAINT runs_state_check
        CHECK (state IN ('running', 'paused', 'completed', 'failed', 'cancelled')),
    ADD CONSTRAINT final_has_finish_time CHECK ((state IN ('running', 'paused')) = (finished_at IS NULL));

CREATE INDEX runs_sweep ON runs (sweep_id, state);

-- Jobs carry their sweep (NULL for single evaluations, which rank as a sweep with no service
-- yet) so that a lease can rank sweeps without a join through nodes and runs. Cancelling a sweep also ends its leased jobs: the
-- holder learns at its next heartbeat and stops the container.
ALTER TABLE jobs ADD COLUMN sweep_id uuid REFERENCES sweeps (id);
CREATE INDEX jobs_sweep ON jobs (sweep_id, state);

-- Wake a run's driver when one of its nodes is evaluated (payload: the run id).
CREATE FUNCTION nodes_notify_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('randori_run_node', NEW.run_id::text);
    RETURN NULL;
END $$;

CREATE TRIGGER nodes_run_notify
    AFTER UPDATE OF status ON nodes
    FOR EACH ROW WHEN (NEW.run_id IS NOT NULL AND NEW.status <> OLD.status)
    EXECUTE FUNCTION nodes_notify_run();

-- Wake the run supervisors when runs appear or change state (submit, pause, resume, cancel).
CREATE FUNCTION runs_notify_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('randori_runs_changed', '');
    RETURN NULL;
END $$;

CREATE TRIGGER runs_changed_notify
    AFTER INSERT OR UPDATE OF state ON runs
    FOR EACH ROW
    EXECUTE FUNCTION runs_notify_changed();
