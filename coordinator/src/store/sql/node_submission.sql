-- The submission a node's evaluation returned, as the program wrote it (NULL when it wrote
-- none). Every node has one job; only a succeeded job holds an outcome.
SELECT j.submission
FROM jobs j
WHERE j.node_id = $1 AND j.state = 'succeeded'
