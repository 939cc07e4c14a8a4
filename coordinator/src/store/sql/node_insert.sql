INSERT INTO nodes (id, task_id, code, task_dir) VALUES ($1, $2, $3, $4)
