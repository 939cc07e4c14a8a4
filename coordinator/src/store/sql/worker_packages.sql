-- The packages common to every active worker that reported a list: what a node's program can
-- import wherever it lands. NULL when no active worker reported one.
WITH reporting AS (
    SELECT packages FROM workers WHERE state = 'active' AND cardinality(packages) > 0
)
SELECT CASE WHEN count(*) = 0 THEN NULL ELSE coalesce((
    SELECT array_agg(p ORDER BY lower(p))
    FROM (
        SELECT p FROM reporting, unnest(reporting.packages) AS p
        GROUP BY p
        HAVING count(*) = (SELECT count(*) FROM reporting)
    ) common
), '{}') END
FROM reporting
