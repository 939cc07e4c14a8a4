-- Each run's final pick: its best validation score (and that node's medal and grade, as
-- run_finish.sql records them).
UPDATE runs r
SET selected_node = best.id, oracle_node = best.id, selected_medal = best.medal,
    selected_grade = best.grade, oracle_grade = best.grade
FROM (SELECT DISTINCT ON (run_id) run_id, id, medal, grade FROM nodes
      WHERE run_id IS NOT NULL ORDER BY run_id, val_score DESC) AS best
WHERE best.run_id = r.id
