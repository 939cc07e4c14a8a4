-- A finished sweep of $2 runs × $3 nodes (each node evaluated: one succeeded job of 1.5 s,
-- one every 2 s, and a grade), for measuring the queries a dashboard and the CLI make at
-- scale. $1 the sweep id. Every node is a draft (no parents), so a reopened run's policy can
-- take its next step from any of them.
WITH sweep AS (
    INSERT INTO sweeps (id, name, fingerprint, spec, state, finished_at)
    VALUES ($1, 'scale', $1::text, '{}', 'completed', now())
    RETURNING id
),
run AS (
    INSERT INTO runs (id, sweep_id, task_dir, task_id, policy, policy_config, operator_config,
                      seed, max_nodes, max_wall_ms, node_timeout_ms, parallelism, req_gpus,
                      req_cpu_millis, req_memory_bytes, state, finished_at)
    SELECT gen_random_uuid(), (SELECT id FROM sweep), '/tasks/t' || (i % 10), 't' || (i % 10),
           (ARRAY['greedy', 'mcts', 'evolutionary'])[1 + i % 3], '{}', '{}', i / 30, $3,
           3600000, 300000, 1, 0, 1000, 1073741824, 'completed', now()
    FROM generate_series(0, $2 - 1) AS i
    RETURNING id, task_id, task_dir
),
node AS (
    INSERT INTO nodes (id, task_id, code, task_dir, run_id, step, operator, status,
                       valid_submission, val_score, test_score, medal, above_median, grade)
    SELECT gen_random_uuid(), run.task_id, 'print(1)', run.task_dir, run.id, s,
           'draft', 'ok', true, v, v, 'none', false,
           jsonb_build_object('submission_exists', true, 'valid_submission', true,
                              'invalid_reason', null, 'val_score', v, 'val_source', 'hidden',
                              'test_score', v, 'medal', 'none', 'above_median', false,
                              'gold_threshold', 1, 'silver_threshold', 1,
                              'bronze_threshold', 1, 'median_threshold', 1,
                              'is_lower_better', false)
    FROM run, generate_series(0, $3 - 1) AS s, LATERAL (SELECT random() AS v) AS r
    RETURNING id, task_id, step
)
INSERT INTO jobs (id, node_id, sweep_id, state, req_gpus, req_cpu_millis, req_memory_bytes,
                  timeout_ms, task_id, data_dir, attempt, max_attempts, epoch, leased_at,
                  finished_at, outcome)
SELECT gen_random_uuid(), node.id, $1, 'succeeded', 0, 1000, 1073741824, 300000, node.task_id,
       '/data', 1, 3, 1, now() - make_interval(secs => 2 * ($3 - node.step)),
       now() - make_interval(secs => 2 * ($3 - node.step) - 1.5),
       '{"exit_code": 0, "timed_out": false, "oom_killed": false, "duration_ms": 1500,
         "peak_memory_bytes": null, "stdout_head": "", "stdout_tail": "", "stdout_bytes": 0,
         "stderr_head": "", "stderr_tail": "", "stderr_bytes": 0, "submission_exists": true,
         "submission_too_large": false, "sandbox": "docker", "worker_name": "scale",
         "gpu_ids": []}'
FROM node
