#!/usr/bin/env bash
# Checks randori's GPU path end to end on a GPU host: Docker with the NVIDIA container toolkit,
# PostgreSQL server binaries, and this repository with randori built (cargo build --release).
#
# It builds the dl runtime image (torch with CUDA) if absent, starts a stack (`randori up`) and
# a second worker that owns GPUs 0 and 1 (`--gpus 0,1`), then evaluates a probe program asking
# for one GPU, then for two. For each it checks that the container saw exactly the GPUs it was
# given (CUDA_VISIBLE_DEVICES renumbered from 0, RANDORI_GPU_IDS the host ids), that
# torch.cuda.is_available() is true inside, and that a matrix product ran on the device.
# With one GPU on the host, pass GPUS=0 (the two-GPU case is then skipped, and says so).
#
# usage: deploy/gpu-check.sh            (from the repository root, as a user who may use Docker)
# env:   RANDORI  the binary (default target/release/randori)
#        GPUS     the host GPU ids the test worker owns (default 0,1)
set -euo pipefail

randori=${RANDORI:-target/release/randori}
gpus=${GPUS:-0,1}
log() { printf '[gpu-check] %s\n' "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

[[ -x $randori ]] || die "$randori not found: run cargo build --release first, or set RANDORI"
command -v nvidia-smi >/dev/null || die "nvidia-smi not found: is this a GPU host with the NVIDIA driver?"
nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader >&2
docker info --format '{{json .Runtimes}}' | grep -q nvidia ||
  log "warning: Docker lists no nvidia runtime; device requests need the NVIDIA container toolkit"

log "building the dl runtime image (once; cached by recipe)"
image=$("$randori" image build --flavor dl)
log "image $image"

work=$(mktemp -d /tmp/randori-gpu-check.XXXXXX)
export RANDORI_HOME=$work/home
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$((50100 + RANDOM % 500))
coordinator=http://127.0.0.1:$port
log "starting a stack on $coordinator and a worker owning GPUs $gpus"
"$randori" up --listen "127.0.0.1:$port" --http 127.0.0.1:0 --image "$image" >"$work/up.log" 2>&1 &
pids+=($!)
for _ in $(seq 60); do
  grep -q "dashboard" "$work/up.log" 2>/dev/null && break
  sleep 1
done
"$randori" worker --coordinator "$coordinator" --name gpu-check --gpus "$gpus" --slots 2 \
  --image "$image" --jobs-dir "$work/jobs" >"$work/worker.log" 2>&1 &
pids+=($!)
sleep 5

cat >"$work/probe.py" <<'PROBE'
import json, os, torch
ok = torch.cuda.is_available()
result = {
    "cuda_available": ok,
    "device_count": torch.cuda.device_count() if ok else 0,
    "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES"),
    "RANDORI_GPU_IDS": os.environ.get("RANDORI_GPU_IDS"),
}
if ok:
    x = torch.randn(2048, 2048, device="cuda")
    result["matmul_sum_finite"] = bool(torch.isfinite((x @ x).sum()).item())
    result["device_names"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
print("PROBE " + json.dumps(result))
PROBE

check() { # N_GPUS
  local n=$1 out
  log "evaluating the probe with --gpus $n"
  out=$("$randori" eval --coordinator "$coordinator" --task tasks/mini/spooky-authors \
    --code "$work/probe.py" --gpus "$n" --cpus 2 --memory 8G --timeout 10m --json) ||
    die "randori eval failed (see $work/worker.log)"
  python3 - "$n" "$out" <<'CHECK' || die "the probe with $n GPU(s) did not see what it was given"
import json, sys
n, outcome = int(sys.argv[1]), json.loads(sys.argv[2])
line = next((l for l in outcome["stdout_tail"].splitlines() if l.startswith("PROBE ")), None)
if line is None:
    sys.exit(f"no probe output; stderr: {outcome['stderr_tail'][-2000:]}")
p = json.loads(line[len("PROBE "):])
print(json.dumps(p, indent=2), file=sys.stderr)
assert p["cuda_available"], "torch.cuda.is_available() is false in the container"
assert p["device_count"] == n, f"saw {p['device_count']} devices, was given {n}"
assert p["CUDA_VISIBLE_DEVICES"] == ",".join(str(i) for i in range(n)), p["CUDA_VISIBLE_DEVICES"]
assert len(p["RANDORI_GPU_IDS"].split(",")) == n, p["RANDORI_GPU_IDS"]
assert p["matmul_sum_finite"], "the matrix product on the GPU was not finite"
CHECK
  log "ok: $n GPU(s)"
}

check 1
if [[ $gpus == *,* ]]; then
  check 2
else
  log "skipped: the two-GPU case (GPUS=$gpus names one GPU)"
fi
log "PASS"
