-- Records a node's analysis with the status and search score it implies; the first analysis
-- recorded stands (two drivers racing after a lease expired record the same journaled one).
UPDATE nodes
SET analysis = $2::jsonb, status = $3, val_score = $4
WHERE id = $1 AND analysis IS NULL AND status IN ('ok', 'buggy')
