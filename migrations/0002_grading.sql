-- Grading: each node remembers its task directory (where the coordinator finds the private
-- answers) and, once its job ended, its grade. `val_score` is what the search may see;
-- `test_score`, `medal` and `above_median` are for analysis only.
ALTER TABLE nodes
    ADD COLUMN task_dir         text NOT NULL DEFAULT '',
    ADD COLUMN valid_submission boolean,
    ADD COLUMN val_score        double precision,
    ADD COLUMN test_score       double precision,
    ADD COLUMN medal            text CHECK (medal IN ('gold', 'silver', 'bronze', 'none')),
    ADD COLUMN above_median     boolean,
    -- The whole grade: thresholds, validity, why a submission was invalid.
    ADD COLUMN grade            jsonb,
    ADD CONSTRAINT graded_together CHECK (
        (valid_submission IS NULL) = (grade IS NULL)
        AND (test_score IS NULL OR valid_submission));
