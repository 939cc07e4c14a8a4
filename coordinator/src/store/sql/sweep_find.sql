SELECT id, (SELECT count(*) FROM runs WHERE sweep_id = sweeps.id) AS runs
FROM sweeps WHERE fingerprint = $1
