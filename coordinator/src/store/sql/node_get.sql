-- One node (of a run or a single evaluation) with its latest job.
SELECT n.id, coalesce(n.step, 0) AS step, coalesce(n.operator, '') AS operator, n.parent_ids,
       n.status, n.val_score, n.test_score, n.code, n.plan, n.medal, j.outcome, n.grade, n.analysis,
       n.run_id, j.id AS job_id
FROM nodes n JOIN jobs j ON j.node_id = n.id
WHERE n.id = $1
ORDER BY j.created_at DESC
LIMIT 1
