-- What a node's program may write (job directory, scratch, /tmp) before it is stopped. Rows
-- from before the limit existed get the default, 10 GiB.
ALTER TABLE jobs ADD COLUMN req_disk_bytes bigint NOT NULL DEFAULT 10737418240
    CHECK (req_disk_bytes > 0);
ALTER TABLE runs ADD COLUMN req_disk_bytes bigint NOT NULL DEFAULT 10737418240
    CHECK (req_disk_bytes > 0);
-- A worker's room for jobs' disk limits on its jobs filesystem, its reserve kept back.
ALTER TABLE workers ADD COLUMN disk_bytes bigint NOT NULL DEFAULT 0 CHECK (disk_bytes >= 0);
-- The runtime image a job or run asks for (a tag; NULL: the worker's own), and the images a
-- worker can run (its own included) with the packages each one's manifest lists
-- ({tag: ["name version", ...]}).
ALTER TABLE jobs ADD COLUMN image text;
ALTER TABLE runs ADD COLUMN image text;
ALTER TABLE workers ADD COLUMN images jsonb NOT NULL DEFAULT '{}';
-- Workers without shared storage fetch a job's data directory by name; only directories some
-- job names are served, which this index answers.
CREATE INDEX jobs_data_dir ON jobs (data_dir);
