SELECT w.id, w.name, w.state, w.slots, w.cpu_millis, w.memory_bytes, w.gpu_ids, w.disk_bytes,
       w.last_heartbeat_at,
       (SELECT count(*) FROM jobs j WHERE j.state = 'leased' AND j.worker_id = w.id) AS leased_jobs
FROM workers w
ORDER BY w.name
