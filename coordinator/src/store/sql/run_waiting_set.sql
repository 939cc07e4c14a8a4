-- Marks a running run as waiting for its LLM endpoint ($2: what for), or clears it ($2 NULL).
UPDATE runs SET waiting_for = $2 WHERE id = $1 AND state = 'running'
