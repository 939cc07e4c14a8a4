-- Each run's final pick: its best validation score (and that node's medal, as run_finish.sql
-- records it).
UPDATE runs r
SET selected_node = best.id, oracle_node = best.id, selected_medal = best.medal
FROM (SELECT DISTINCT ON (run_id) run_id, id, medal FROM nodes
      WHERE run_id IS NOT NULL ORDER BY run_id, val_score DESC) AS best
WHERE best.run_id = r.id
