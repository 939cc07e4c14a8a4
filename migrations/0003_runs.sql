-- Search runs (one task × one policy × one seed) and the tree of nodes each grows.
--
-- A run is driven by one coordinator at a time, under a lease (`driver`, `driver_expires_at`)
-- that it renews; when the lease runs out (the coordinator died) another one, or the same one
-- restarted, takes the run over and continues from the stored nodes.
CREATE TABLE runs (
    id                uuid PRIMARY KEY,
    task_dir          text NOT NULL,
    task_id           text NOT NULL,
    policy            text NOT NULL CHECK (policy IN ('greedy', 'mcts', 'evolutionary')),
    policy_config     jsonb NOT NULL,
    operator_config   jsonb NOT NULL,
    seed              bigint NOT NULL,
    max_nodes         integer NOT NULL CHECK (max_nodes > 0),
    max_wall_ms       bigint NOT NULL CHECK (max_wall_ms > 0),
    node_timeout_ms   bigint NOT NULL CHECK (node_timeout_ms > 0),
    parallelism       integer NOT NULL CHECK (parallelism >= 1),
    req_gpus          integer NOT NULL CHECK (req_gpus >= 0),
    req_cpu_millis    integer NOT NULL CHECK (req_cpu_millis > 0),
    req_memory_bytes  bigint NOT NULL CHECK (req_memory_bytes > 0),
    -- running: a driver grows its tree; completed: budget spent and every node evaluated.
    state             text NOT NULL DEFAULT 'running'
                      CHECK (state IN ('running', 'completed', 'failed', 'cancelled')),
    driver            text,
    driver_expires_at timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    error             text,
    -- Final selection (best validation score) and, for analysis only, the oracle (best test).
    selected_node     uuid,
    oracle_node       uuid,
    CONSTRAINT final_has_finish_time CHECK ((state = 'running') = (finished_at IS NULL))
);

CREATE INDEX runs_running ON runs (driver_expires_at) WHERE state = 'running';

ALTER TABLE nodes
    ADD COLUMN run_id     uuid REFERENCES runs (id),
    ADD COLUMN step       integer,
    ADD COLUMN operator   text CHECK (operator IN ('draft', 'improve', 'debug', 'crossover')),
    ADD COLUMN parent_ids uuid[] NOT NULL DEFAULT '{}',
    ADD COLUMN plan       text NOT NULL DEFAULT '',
    ADD CONSTRAINT run_nodes_have_a_step CHECK ((run_id IS NULL) = (step IS NULL) AND (run_id IS NULL) = (operator IS NULL));

-- One node per step: a driver that restarts after inserting step k finds it and moves on.
CREATE UNIQUE INDEX nodes_run_step ON nodes (run_id, step) WHERE run_id IS NOT NULL;

-- Every operator LLM call, keyed so that a resumed run finds its answers instead of asking again.
CREATE TABLE llm_calls (
    key        text PRIMARY KEY,
    run_id     uuid REFERENCES runs (id),
    model      text NOT NULL,
    prompt     jsonb NOT NULL,
    answer     text NOT NULL,
    tokens_in  bigint NOT NULL,
    tokens_out bigint NOT NULL,
    latency_ms bigint NOT NULL,
    cost_usd   double precision NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
