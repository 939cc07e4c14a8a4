-- The job queue: workers, nodes (programs to evaluate) and the jobs that evaluate them.
--
-- Job states and who moves a job out of each (the only transitions there are):
--
--   queued ──Lease──▶ leased ──ReportResult(outcome)──────────────▶ succeeded
--     ▲                 │ ├──ReportResult(infra error), attempts left ─┐
--     │                 │ ├──Release (drain; attempt not counted) ─────┤
--     │                 │ └──reaper: lease expired, attempts left ─────┤
--     └─────────────────┼──────────────────────────────────────────────┘
--                       └──reaper / infra error, attempts exhausted ──▶ failed
--   queued ──cancel──▶ cancelled
--
-- `epoch` is the fencing token: it grows by one on every lease, and every call about a job
-- must carry the current one. succeeded, failed and cancelled are final.

CREATE TABLE workers (
    id                uuid PRIMARY KEY,
    name              text NOT NULL UNIQUE,
    hostname          text NOT NULL,
    sandbox           text NOT NULL,
    version           text NOT NULL,
    slots             integer NOT NULL CHECK (slots >= 0),
    cpu_millis        integer NOT NULL CHECK (cpu_millis >= 0),
    memory_bytes      bigint NOT NULL CHECK (memory_bytes >= 0),
    gpu_ids           integer[] NOT NULL DEFAULT '{}',
    -- active: heartbeating; draining: finishing its jobs, takes no new ones;
    -- lost: missed heartbeats for a whole lease TTL (set by the reaper).
    state             text NOT NULL CHECK (state IN ('active', 'draining', 'lost')),
    registered_at     timestamptz NOT NULL DEFAULT now(),
    last_heartbeat_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE nodes (
    id         uuid PRIMARY KEY,
    task_id    text NOT NULL,
    code       text NOT NULL,
    -- pending until its evaluation job ends; then ok or buggy (see DESIGN.md).
    status     text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ok', 'buggy')),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE jobs (
    id               uuid PRIMARY KEY,
    node_id          uuid NOT NULL REFERENCES nodes (id),
    state            text NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'leased', 'succeeded', 'failed', 'cancelled')),
    priority         integer NOT NULL DEFAULT 0,
    req_gpus         integer NOT NULL CHECK (req_gpus >= 0),
    req_cpu_millis   integer NOT NULL CHECK (req_cpu_millis >= 0),
    req_memory_bytes bigint NOT NULL CHECK (req_memory_bytes >= 0),
    timeout_ms       bigint NOT NULL CHECK (timeout_ms > 0),
    task_id          text NOT NULL,
    data_dir         text NOT NULL,
    attempt          integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL CHECK (max_attempts >= 1),
    epoch            bigint NOT NULL DEFAULT 0,
    -- The current holder while leased, the last one afterwards.
    worker_id        uuid REFERENCES workers (id),
    gpu_ids          integer[] NOT NULL DEFAULT '{}',
    lease_expires_at timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    leased_at        timestamptz,
    finished_at      timestamptz,
    outcome          jsonb,
    submission       bytea,
    error            text,
    CONSTRAINT attempts_bounded CHECK (attempt BETWEEN 0 AND max_attempts),
    CONSTRAINT leased_has_holder CHECK (
        (state = 'leased') = (lease_expires_at IS NOT NULL)
        AND (state <> 'leased' OR worker_id IS NOT NULL)),
    CONSTRAINT gpus_only_while_leased CHECK (state = 'leased' OR gpu_ids = '{}'),
    CONSTRAINT final_has_finish_time CHECK (
        (state IN ('succeeded', 'failed', 'cancelled')) = (finished_at IS NOT NULL)),
    CONSTRAINT succeeded_has_outcome CHECK (state <> 'succeeded' OR outcome IS NOT NULL)
);

CREATE INDEX jobs_queued_order ON jobs (priority DESC, created_at, id) WHERE state = 'queued';
CREATE INDEX jobs_leased_expiry ON jobs (lease_expires_at) WHERE state = 'leased';
CREATE INDEX jobs_leased_worker ON jobs (worker_id) WHERE state = 'leased';
CREATE INDEX jobs_node ON jobs (node_id);

-- Live output of running jobs, as the worker streams it (capped per job by the worker).
CREATE TABLE job_output (
    job_id      uuid NOT NULL REFERENCES jobs (id),
    epoch       bigint NOT NULL,
    stream      text NOT NULL CHECK (stream IN ('stdout', 'stderr')),
    byte_offset bigint NOT NULL,
    data        bytea NOT NULL,
    PRIMARY KEY (job_id, epoch, stream, byte_offset)
);

-- Wake idle workers' long polls the moment work appears (they also poll, in case a
-- notification is lost while the listener reconnects).
CREATE FUNCTION jobs_notify_queued() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('randori_job_queued', '');
    RETURN NULL;
END $$;

-- Per row, so that only rows that became queued notify (Postgres folds the identical
-- notifications of one transaction into one).
CREATE TRIGGER jobs_queued_notify
    AFTER INSERT OR UPDATE OF state ON jobs
    FOR EACH ROW WHEN (NEW.state = 'queued')
    EXECUTE FUNCTION jobs_notify_queued();

-- Wake clients waiting for one job to end.
CREATE FUNCTION jobs_notify_ended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('randori_job_ended', NEW.id::text);
    RETURN NULL;
END $$;

CREATE TRIGGER jobs_ended_notify
    AFTER UPDATE OF state ON jobs
    FOR EACH ROW WHEN (NEW.state IN ('succeeded', 'failed', 'cancelled') AND OLD.state <> NEW.state)
    EXECUTE FUNCTION jobs_notify_ended();
