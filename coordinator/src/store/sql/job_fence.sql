-- Why a fenced update touched nothing: the job's current state and epoch, if it exists.
SELECT state, epoch FROM jobs WHERE id = $1
