-- Register a worker, or refresh the row of one that re-registers under the same name (after a
-- restart or a coordinator fail-over): the id stays, so its leases stay its own.
INSERT INTO workers (id, name, hostname, sandbox, version, slots, cpu_millis, memory_bytes, gpu_ids,
                     packages, disk_bytes, images, state)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'active')
ON CONFLICT (name) DO UPDATE SET
    hostname = EXCLUDED.hostname,
    sandbox = EXCLUDED.sandbox,
    version = EXCLUDED.version,
    slots = EXCLUDED.slots,
    cpu_millis = EXCLUDED.cpu_millis,
    memory_bytes = EXCLUDED.memory_bytes,
    gpu_ids = EXCLUDED.gpu_ids,
    packages = EXCLUDED.packages,
    disk_bytes = EXCLUDED.disk_bytes,
    images = EXCLUDED.images,
    state = 'active',
    last_heartbeat_at = now()
RETURNING id
