#!/usr/bin/env bash
# Run every mini-bench task's reference programs (tasks/mini/<id>/reference/
# {baseline,good}.py) in the runtime image under the node sandbox's limits
# (no network, read-only root, uid 10001, 2 GB, 1 CPU, data read-only at
# /home/data), then grade each submission on the private test and validation
# rows with tasks/build_mini.py --grade.
#
# usage: tasks/check_references.sh [IMAGE] [TASK_ID...]   (IMAGE: randori-runtime:dev)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
image=${1:-randori-runtime:dev}
shift || true
ids=("$@")
if [[ ${#ids[@]} -eq 0 ]]; then
  for d in "$here"/mini/*/; do ids+=("$(basename "$d")"); done
fi
work=$(mktemp -d /tmp/randori-refs.XXXXXX)
trap 'rm -rf "$work"' EXIT
status=0
for id in "${ids[@]}"; do
  task=$here/mini/$id
  for prog in baseline good; do
    out=$work/$id-$prog
    mkdir -p "$out"
    chmod 0777 "$out"
    start=$(date +%s%N)
    rc=0
    docker run --rm --network none --read-only --tmpfs /tmp --user 10001:10001 \
      --memory 2g --memory-swap 2g --cpus 1 --pids-limit 256 --cap-drop ALL \
      --security-opt no-new-privileges -e OMP_NUM_THREADS=1 -e COMPETITION_ID="$id" \
      -v "$task/prepared/public:/home/data:ro" \
      -v "$task/reference/$prog.py:/home/code/solution.py:ro" \
      -v "$out:/home/submission" \
      "$image" python3 /home/code/solution.py >"$out.log" 2>&1 || rc=$?
    ms=$((($(date +%s%N) - start) / 1000000))
    last=$(tail -n 1 "$out.log")
    if [[ $rc -ne 0 || ! -f $out/submission.csv || $last != randori:metric=* ]]; then
      echo "FAIL $id $prog.py (exit $rc)"; tail -n 20 "$out.log"; status=1; continue
    fi
    graded=$(docker run --rm --network none --user "$(id -u):$(id -g)" -v "$here:/tasks:ro" -v "$out:/sub:ro" \
      -w /tasks "$image" python3 build_mini.py --grade "$id" /sub/submission.csv) || status=1
    printf '%-20s %-12s %3d.%01ds  cv %s  %s\n' "$id" "$prog.py" $((ms / 1000)) $((ms % 1000 / 100)) \
      "${last#randori:metric=}" "$graded"
  done
done
exit $status
