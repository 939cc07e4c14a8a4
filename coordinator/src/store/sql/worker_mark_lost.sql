-- Workers silent for a whole lease TTL are lost (their leases expire on their own).
UPDATE workers SET state = 'lost'
WHERE state <> 'lost' AND last_heartbeat_at < now() - make_interval(secs => $1)
RETURNING name
