UPDATE runs
SET state = $2, error = $3, selected_node = $4, oracle_node = $5, finished_at = now(),
    waiting_for = NULL, selected_medal = (SELECT medal FROM nodes WHERE id = $4),
    selected_grade = (SELECT grade FROM nodes WHERE id = $4),
    oracle_grade = (SELECT grade FROM nodes WHERE id = $5),
    driver = NULL, driver_expires_at = NULL
WHERE id = $1 AND state = 'running'
