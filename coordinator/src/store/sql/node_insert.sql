INSERT INTO nodes (id, task_id, code) VALUES ($1, $2, $3)
