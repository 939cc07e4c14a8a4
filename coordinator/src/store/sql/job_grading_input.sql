SELECT j.id, n.task_dir, j.trace_parent FROM jobs j JOIN nodes n ON n.id = j.node_id WHERE j.id = ANY($1)
