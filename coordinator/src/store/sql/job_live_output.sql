-- The live output of a job's current attempt, in order, the last $2 bytes of each stream.
SELECT o.stream, o.byte_offset, o.data
FROM job_output o
JOIN jobs j ON j.id = o.job_id AND o.epoch = j.epoch
WHERE o.job_id = $1
  AND o.byte_offset + length(o.data) > (
    SELECT coalesce(max(l.byte_offset + length(l.data)), 0) - $2
    FROM job_output l
    WHERE l.job_id = o.job_id AND l.epoch = o.epoch AND l.stream = o.stream)
ORDER BY o.stream, o.byte_offset
