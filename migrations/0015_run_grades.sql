-- The selected and oracle nodes' grades, copied onto the run when it finishes (as
-- `selected_medal` is), so a report of 10,000 runs reads them without 20,000 lookups into
-- `nodes`. Grades are written once, when a node's evaluation reports, which is before its run
-- can finish; a retried run clears them with its picks.
ALTER TABLE runs ADD COLUMN selected_grade jsonb, ADD COLUMN oracle_grade jsonb;
UPDATE runs r SET selected_grade = n.grade FROM nodes n WHERE n.id = r.selected_node;
UPDATE runs r SET oracle_grade = n.grade FROM nodes n WHERE n.id = r.oracle_node;
