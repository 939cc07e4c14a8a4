-- Store a live output chunk, only while the sender still holds the lease.
INSERT INTO job_output (job_id, epoch, stream, byte_offset, data)
SELECT $1, $2, $3, $4, $5
FROM jobs WHERE id = $1 AND epoch = $2 AND state = 'leased'
ON CONFLICT DO NOTHING
