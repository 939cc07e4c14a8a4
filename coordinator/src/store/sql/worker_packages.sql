-- The packages common to every active worker that reported a list for the image $1 (NULL:
-- each worker's own image): what a node's program can import wherever it lands. NULL when
-- no active worker reported one.
WITH reporting AS (
    SELECT CASE WHEN $1::text IS NULL THEN packages
                ELSE ARRAY(SELECT jsonb_array_elements_text(images -> $1::text)) END AS packages
    FROM workers
    WHERE state = 'active'
),
listed AS (
    SELECT packages FROM reporting WHERE cardinality(packages) > 0
)
SELECT CASE WHEN count(*) = 0 THEN NULL ELSE coalesce((
    SELECT array_agg(p ORDER BY lower(p))
    FROM (
        SELECT p FROM listed, unnest(listed.packages) AS p
        GROUP BY p
        HAVING count(*) = (SELECT count(*) FROM listed)
    ) common
), '{}') END
FROM listed
