-- Gauges for /metrics: how many jobs, nodes, runs, sweeps and workers are in each state.
SELECT 'jobs' AS family, state, count(*) AS n FROM jobs GROUP BY state
UNION ALL SELECT 'nodes', status, count(*) FROM nodes GROUP BY status
UNION ALL SELECT 'runs', state, count(*) FROM runs GROUP BY state
UNION ALL SELECT 'sweeps', state, count(*) FROM sweeps GROUP BY state
UNION ALL SELECT 'workers', state, count(*) FROM workers GROUP BY state
