-- Whether some job names $1 as its data directory: the only directories workers may fetch.
SELECT EXISTS (SELECT 1 FROM jobs WHERE data_dir = $1)
