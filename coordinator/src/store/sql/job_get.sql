SELECT j.id, j.node_id, j.state, j.attempt, j.outcome, j.submission, j.error, w.name AS worker_name,
       n.status AS node_status, n.grade
FROM jobs j JOIN nodes n ON n.id = j.node_id LEFT JOIN workers w ON w.id = j.worker_id
WHERE j.id = $1
