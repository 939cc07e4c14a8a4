-- Record jobs' outcomes, each only under its current lease (the fence), and their nodes'
-- statuses and grades with them: one statement for a whole batch of reports. A job whose
-- lease was not current gets no row back. Returns each recorded job's age (its total time,
-- queueing and retries included).
-- Arrays, one element per report: $1 job ids, $2 epochs, $3 outcomes (JSON), $4 submissions,
-- $5 node statuses; $6..$11 the grades' columns ($11 the whole grade as JSON), NULL without one.
WITH reported AS (
    SELECT *
    FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::bytea[], $5::text[], $6::boolean[],
                $7::double precision[], $8::double precision[], $9::text[], $10::boolean[],
                $11::text[])
        AS r(job_id, epoch, outcome, submission, node_status, valid_submission, val_score,
             test_score, medal, above_median, grade)
),
done AS (
    UPDATE jobs j
    SET state = 'succeeded', outcome = r.outcome::jsonb, submission = r.submission,
        finished_at = now(), error = NULL, lease_expires_at = NULL, gpu_ids = '{}'
    FROM reported r
    WHERE j.id = r.job_id AND j.epoch = r.epoch AND j.state = 'leased'
    RETURNING j.id, j.node_id, j.created_at
)
UPDATE nodes n
SET status = r.node_status, valid_submission = r.valid_submission, val_score = r.val_score,
    test_score = r.test_score, medal = r.medal, above_median = r.above_median,
    grade = r.grade::jsonb
FROM done
JOIN reported r ON r.job_id = done.id
WHERE n.id = done.node_id
RETURNING done.id AS job_id,
          extract(epoch FROM now() - done.created_at)::double precision AS age_seconds
