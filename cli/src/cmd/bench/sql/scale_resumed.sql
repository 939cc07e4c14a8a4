-- Of the reopened runs ($1), how many a live driver took up (or already ended), and how many
-- made their next step since $2.
SELECT count(*) FILTER (WHERE state <> 'running' OR driver <> 'dead-coordinator') AS taken,
       count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM nodes n WHERE n.run_id = r.id AND n.created_at >= $2)) AS stepped,
       count(*) FILTER (WHERE state = 'failed') AS failed, min(error) AS error
FROM runs r
WHERE r.id = ANY($1)
