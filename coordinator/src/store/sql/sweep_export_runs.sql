-- Each run of a sweep with its final pick, for `sweep export`: the selected node and its grade
-- (NULL when the run selected none). The submissions are fetched one at a time
-- (`node_submission.sql`): together they may not fit in memory.
SELECT r.id, r.task_id, r.task_dir, r.policy, r.seed, r.state, r.selected_node, sel.grade
FROM runs r
LEFT JOIN nodes sel ON sel.id = r.selected_node
WHERE r.sweep_id = $1
ORDER BY r.task_id, r.policy, r.seed, r.id
