-- A run's tree in creation order, with what operators need of each node.
SELECT n.id, n.step, n.operator, n.parent_ids, n.status, n.val_score, n.test_score, n.code,
       n.plan, n.medal, j.outcome, n.grade, n.analysis
FROM nodes n JOIN jobs j ON j.node_id = n.id
WHERE n.run_id = $1
ORDER BY n.step
