-- Per-run counters, so that `sweep status` and `sweep report` read one row per run instead of
-- aggregating every node and job of the sweep (at 10^6 nodes: seconds, not milliseconds).
--
-- They are kept by triggers in the same statement that changes what they count, whichever
-- statement that is (insert, lease, complete, reap, release, cancel, analysis, retry), so no
-- code path can forget one. Inserts and job moves are summed per statement from the
-- transition tables and applied once per run, locking the counter rows in run order; a
-- node's change of status is applied per row (see run_counters_node_moved). Should two
-- batches still lock two runs in opposite orders, Postgres aborts one, and its caller's
-- retry (every caller of these statements retries transient errors) applies it again.
-- Rows are never deleted from nodes, jobs or llm_calls, so deletes are not counted.
CREATE TABLE run_counters (
    run_id         uuid PRIMARY KEY REFERENCES runs (id),
    nodes          integer NOT NULL DEFAULT 0,
    ok             integer NOT NULL DEFAULT 0,
    buggy          integer NOT NULL DEFAULT 0,
    jobs_queued    integer NOT NULL DEFAULT 0,
    jobs_leased    integer NOT NULL DEFAULT 0,
    jobs_succeeded integer NOT NULL DEFAULT 0,
    jobs_failed    integer NOT NULL DEFAULT 0,
    jobs_cancelled integer NOT NULL DEFAULT 0,
    -- The best validation score of an ok node, in the task's direction (recomputed from the
    -- run's nodes when one of them changes status or score: a node can leave `ok`).
    best_val       double precision,
    -- CPU- and GPU-seconds of the evaluations that reported (succeeded jobs).
    cpu_seconds    double precision NOT NULL DEFAULT 0,
    gpu_seconds    double precision NOT NULL DEFAULT 0,
    llm_calls      bigint NOT NULL DEFAULT 0,
    tokens_in      bigint NOT NULL DEFAULT 0,
    tokens_out     bigint NOT NULL DEFAULT 0,
    cost_usd       double precision NOT NULL DEFAULT 0
);

CREATE FUNCTION run_counters_create() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO run_counters (run_id) SELECT id FROM new_runs ORDER BY id;
    RETURN NULL;
END $$;

CREATE TRIGGER run_counters_create AFTER INSERT ON runs
    REFERENCING NEW TABLE AS new_runs
    FOR EACH STATEMENT EXECUTE FUNCTION run_counters_create();

-- Adds per-run changes (a JSON array of `run_counter_change` objects) to the counters,
-- locking the rows in run order first.
CREATE FUNCTION run_counters_apply(changes jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM run_counters
    WHERE run_id IN (SELECT (c ->> 'run_id')::uuid FROM jsonb_array_elements(changes) c)
    ORDER BY run_id
    FOR UPDATE;
    UPDATE run_counters r
    SET nodes          = r.nodes + d.nodes,
        ok             = r.ok + d.ok,
        buggy          = r.buggy + d.buggy,
        jobs_queued    = r.jobs_queued + d.jobs_queued,
        jobs_leased    = r.jobs_leased + d.jobs_leased,
        jobs_succeeded = r.jobs_succeeded + d.jobs_succeeded,
        jobs_failed    = r.jobs_failed + d.jobs_failed,
        jobs_cancelled = r.jobs_cancelled + d.jobs_cancelled,
        cpu_seconds    = r.cpu_seconds + d.cpu_seconds,
        gpu_seconds    = r.gpu_seconds + d.gpu_seconds,
        llm_calls      = r.llm_calls + d.llm_calls,
        tokens_in      = r.tokens_in + d.tokens_in,
        tokens_out     = r.tokens_out + d.tokens_out,
        cost_usd       = r.cost_usd + d.cost_usd
    FROM jsonb_to_recordset(changes) AS d (
        run_id uuid, nodes integer, ok integer, buggy integer, jobs_queued integer,
        jobs_leased integer, jobs_succeeded integer, jobs_failed integer,
        jobs_cancelled integer, cpu_seconds double precision, gpu_seconds double precision,
        llm_calls bigint, tokens_in bigint, tokens_out bigint, cost_usd double precision)
    WHERE r.run_id = d.run_id;
END $$;

-- The best validation score of each of `runs`, from its ok nodes.
CREATE FUNCTION run_counters_best(runs uuid[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE run_counters r
    SET best_val = (
        SELECT CASE WHEN bool_or((n.grade ->> 'is_lower_better')::boolean)
                    THEN min(n.val_score) FILTER (WHERE n.status = 'ok')
                    ELSE max(n.val_score) FILTER (WHERE n.status = 'ok') END
        FROM nodes n WHERE n.run_id = r.run_id)
    WHERE r.run_id = ANY (runs);
END $$;

-- One change per run, all counters present (zeros where a statement changed nothing).
CREATE FUNCTION run_counter_change(
    run_id uuid, nodes bigint DEFAULT 0, ok bigint DEFAULT 0, buggy bigint DEFAULT 0,
    jobs_queued bigint DEFAULT 0, jobs_leased bigint DEFAULT 0, jobs_succeeded bigint DEFAULT 0,
    jobs_failed bigint DEFAULT 0, jobs_cancelled bigint DEFAULT 0,
    cpu_seconds double precision DEFAULT 0, gpu_seconds double precision DEFAULT 0,
    llm_calls bigint DEFAULT 0, tokens_in bigint DEFAULT 0, tokens_out bigint DEFAULT 0,
    cost_usd double precision DEFAULT 0) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'run_id', run_id, 'nodes', nodes, 'ok', ok, 'buggy', buggy,
        'jobs_queued', jobs_queued, 'jobs_leased', jobs_leased,
        'jobs_succeeded', jobs_succeeded, 'jobs_failed', jobs_failed,
        'jobs_cancelled', jobs_cancelled, 'cpu_seconds', cpu_seconds,
        'gpu_seconds', gpu_seconds, 'llm_calls', llm_calls, 'tokens_in', tokens_in,
        'tokens_out', tokens_out, 'cost_usd', cost_usd)
$$;

-- Nodes: counted when inserted (per statement: a batch is summed once per run).
CREATE FUNCTION run_counters_nodes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changes jsonb;
    touched uuid[];
BEGIN
    SELECT jsonb_agg(run_counter_change(run_id, nodes => n, ok => o, buggy => b)),
           array_agg(run_id) FILTER (WHERE o > 0)
    INTO changes, touched
    FROM (SELECT run_id, count(*) AS n,
                 count(*) FILTER (WHERE status = 'ok') AS o,
                 count(*) FILTER (WHERE status = 'buggy') AS b
          FROM new_nodes WHERE run_id IS NOT NULL GROUP BY run_id) x;
    IF changes IS NOT NULL THEN
        PERFORM run_counters_apply(changes);
    END IF;
    IF touched IS NOT NULL THEN
        PERFORM run_counters_best(touched);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER run_counters_nodes_insert AFTER INSERT ON nodes
    REFERENCING NEW TABLE AS new_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION run_counters_nodes();

-- A node whose status or score changed moves between ok and buggy, and its run's best score
-- is recomputed. Per row, and only for such rows (most updates of a node change neither: a
-- per-statement trigger would cost every one of them).
CREATE FUNCTION run_counters_node_moved() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    lower boolean := coalesce((NEW.grade ->> 'is_lower_better')::boolean, false);
    best double precision;
BEGIN
    UPDATE run_counters
    SET ok = ok + (NEW.status = 'ok')::int - (OLD.status = 'ok')::int,
        buggy = buggy + (NEW.status = 'buggy')::int - (OLD.status = 'buggy')::int,
        -- A score that joins can only improve the best; one that leaves is handled below.
        best_val = CASE WHEN NEW.status = 'ok' AND NEW.val_score IS NOT NULL
                        THEN CASE WHEN lower THEN least(best_val, NEW.val_score)
                                  ELSE greatest(best_val, NEW.val_score) END
                        ELSE best_val END
    WHERE run_id = NEW.run_id
    RETURNING best_val INTO best;
    -- The node's old score was the best and has left or changed: recompute from the nodes.
    IF OLD.status = 'ok' AND OLD.val_score = best
       AND NOT (NEW.status = 'ok' AND NEW.val_score = best) THEN
        PERFORM run_counters_best(ARRAY[NEW.run_id]);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER run_counters_nodes_update AFTER UPDATE OF status, val_score ON nodes
    FOR EACH ROW
    WHEN (NEW.run_id IS NOT NULL AND (OLD.status IS DISTINCT FROM NEW.status
                                      OR OLD.val_score IS DISTINCT FROM NEW.val_score))
    EXECUTE FUNCTION run_counters_node_moved();

-- Jobs: counted by state (a job's run is its node's); a job that succeeds adds its
-- evaluation's CPU- and GPU-seconds. The moves (run, state, previous state or NULL) come from
-- the inserted rows, or the updated rows whose state changed; one aggregate sums them (run
-- with EXECUTE, as only an UPDATE trigger has an `old_jobs` table to name).
CREATE FUNCTION run_counters_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    moves text := CASE TG_OP
        WHEN 'INSERT' THEN
            'SELECT n.run_id, j.state, NULL::text AS was, j.outcome, j.req_cpu_millis, j.req_gpus
             FROM new_jobs j JOIN nodes n ON n.id = j.node_id WHERE n.run_id IS NOT NULL'
        ELSE
            'SELECT n.run_id, j.state, o.state AS was, j.outcome, j.req_cpu_millis, j.req_gpus
             FROM new_jobs j JOIN old_jobs o ON o.id = j.id JOIN nodes n ON n.id = j.node_id
             WHERE j.state <> o.state AND n.run_id IS NOT NULL'
        END;
    changes jsonb;
BEGIN
    EXECUTE format($q$
        SELECT jsonb_agg(run_counter_change(run_id, jobs_queued => q, jobs_leased => l,
                                            jobs_succeeded => s, jobs_failed => f,
                                            jobs_cancelled => c, cpu_seconds => cpu_s,
                                            gpu_seconds => gpu_s))
        FROM (SELECT run_id,
                     sum((state = 'queued')::int - coalesce((was = 'queued')::int, 0)) AS q,
                     sum((state = 'leased')::int - coalesce((was = 'leased')::int, 0)) AS l,
                     sum((state = 'succeeded')::int - coalesce((was = 'succeeded')::int, 0)) AS s,
                     sum((state = 'failed')::int - coalesce((was = 'failed')::int, 0)) AS f,
                     sum((state = 'cancelled')::int - coalesce((was = 'cancelled')::int, 0)) AS c,
                     coalesce(sum((outcome ->> 'duration_ms')::double precision / 1000
                                  * req_cpu_millis / 1000) FILTER (WHERE state = 'succeeded'), 0)
                         AS cpu_s,
                     coalesce(sum((outcome ->> 'duration_ms')::double precision / 1000 * req_gpus)
                              FILTER (WHERE state = 'succeeded'), 0) AS gpu_s
              FROM (%s) m
              GROUP BY run_id) x
        $q$, moves)
    INTO changes;
    IF changes IS NOT NULL THEN
        PERFORM run_counters_apply(changes);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER run_counters_jobs_insert AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION run_counters_jobs();
CREATE TRIGGER run_counters_jobs_update AFTER UPDATE ON jobs
    REFERENCING OLD TABLE AS old_jobs NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION run_counters_jobs();

-- LLM calls: counted with their tokens and cost when journaled.
CREATE FUNCTION run_counters_llm() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changes jsonb;
BEGIN
    SELECT jsonb_agg(run_counter_change(run_id, llm_calls => n, tokens_in => ti,
                                        tokens_out => t_out, cost_usd => cost))
    INTO changes
    FROM (SELECT run_id, count(*) AS n, sum(tokens_in)::bigint AS ti,
                 sum(tokens_out)::bigint AS t_out, sum(cost_usd) AS cost
          FROM new_calls WHERE run_id IS NOT NULL GROUP BY run_id) x;
    IF changes IS NOT NULL THEN
        PERFORM run_counters_apply(changes);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER run_counters_llm_insert AFTER INSERT ON llm_calls
    REFERENCING NEW TABLE AS new_calls
    FOR EACH STATEMENT EXECUTE FUNCTION run_counters_llm();

-- The runs that exist already, counted once from what is stored.
INSERT INTO run_counters (run_id) SELECT id FROM runs;
UPDATE run_counters c
SET nodes = x.nodes, ok = x.ok, buggy = x.buggy
FROM (SELECT run_id, count(*) AS nodes, count(*) FILTER (WHERE status = 'ok') AS ok,
             count(*) FILTER (WHERE status = 'buggy') AS buggy
      FROM nodes WHERE run_id IS NOT NULL GROUP BY run_id) x
WHERE c.run_id = x.run_id;
UPDATE run_counters c
SET jobs_queued = x.q, jobs_leased = x.l, jobs_succeeded = x.s, jobs_failed = x.f,
    jobs_cancelled = x.c, cpu_seconds = x.cpu, gpu_seconds = x.gpu
FROM (SELECT n.run_id,
             count(*) FILTER (WHERE j.state = 'queued') AS q,
             count(*) FILTER (WHERE j.state = 'leased') AS l,
             count(*) FILTER (WHERE j.state = 'succeeded') AS s,
             count(*) FILTER (WHERE j.state = 'failed') AS f,
             count(*) FILTER (WHERE j.state = 'cancelled') AS c,
             coalesce(sum((j.outcome ->> 'duration_ms')::double precision / 1000
                          * j.req_cpu_millis / 1000) FILTER (WHERE j.state = 'succeeded'), 0)
                 AS cpu,
             coalesce(sum((j.outcome ->> 'duration_ms')::double precision / 1000 * j.req_gpus)
                      FILTER (WHERE j.state = 'succeeded'), 0) AS gpu
      FROM jobs j JOIN nodes n ON n.id = j.node_id
      WHERE n.run_id IS NOT NULL GROUP BY n.run_id) x
WHERE c.run_id = x.run_id;
UPDATE run_counters c
SET llm_calls = x.n, tokens_in = x.ti, tokens_out = x.t_out, cost_usd = x.cost
FROM (SELECT run_id, count(*) AS n, sum(tokens_in) AS ti, sum(tokens_out) AS t_out,
             sum(cost_usd) AS cost
      FROM llm_calls WHERE run_id IS NOT NULL GROUP BY run_id) x
WHERE c.run_id = x.run_id;
SELECT run_counters_best(array_agg(id)) FROM runs;

-- The medal of the run's selected node, recorded when the run finishes (status counts medals
-- without a lookup per run).
ALTER TABLE runs ADD COLUMN selected_medal text;
UPDATE runs r SET selected_medal = n.medal FROM nodes n WHERE n.id = r.selected_node;
