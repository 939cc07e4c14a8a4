-- Each live worker's totals minus what its current leases hold.
SELECT w.name, w.state,
       (w.slots - count(j.id))::bigint AS free_slots,
       (w.cpu_millis - coalesce(sum(j.req_cpu_millis), 0))::bigint AS free_cpu_millis,
       (w.memory_bytes - coalesce(sum(j.req_memory_bytes), 0))::bigint AS free_memory_bytes,
       cardinality(w.gpu_ids)::bigint AS gpus,
       (cardinality(w.gpu_ids) - coalesce(sum(cardinality(j.gpu_ids)), 0))::bigint AS free_gpus
FROM workers w
LEFT JOIN jobs j ON j.worker_id = w.id AND j.state = 'leased'
WHERE w.state <> 'lost'
GROUP BY w.id
ORDER BY w.name
