UPDATE nodes
SET valid_submission = $2, val_score = $3, test_score = $4, medal = $5, above_median = $6, grade = $7
WHERE id = $1
