#!/usr/bin/env bash
# Build the randori runtime image (Python 3 + numpy/pandas/scikit-learn/Pillow) with no
# container registry: mmdebstrap builds a Debian bookworm rootfs from an apt
# mirror and `docker import` turns it into an image. Equivalent to ./Dockerfile.
# The `postgres` flavor builds, the same way, a PostgreSQL 15 server image for the compose
# cluster (deploy/compose), configured like the official image: POSTGRES_USER,
# POSTGRES_PASSWORD, POSTGRES_DB, data in /var/lib/postgresql/data.
# The `slurm` flavor builds a SLURM 22.05 node image (slurmctld, slurmd, the client commands
# and munge) for the test cluster of deploy/slurm/test-cluster: one image for every role,
# `randori-slurm controller` or `randori-slurm node` as its command.
#
# The runtime image carries its package manifest (name==version, written by manifest.py, which
# must sit beside this script) at /etc/randori/packages.txt.
#
# usage: build-offline.sh IMAGE_TAG [runtime|postgres|slurm]
# env:   RANDORI_DEBIAN_MIRROR           use this mirror (bookworm, bookworm-updates)
#                                        instead of what the host's apt uses
#        RANDORI_DEBIAN_SECURITY_MIRROR  with RANDORI_DEBIAN_MIRROR: also use this
#                                        mirror for bookworm-security
set -euo pipefail

log() { printf '[build-offline] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ ($# -eq 1 || $# -eq 2) && -n $1 ]] || { echo "usage: $0 IMAGE_TAG [runtime|postgres|slurm]" >&2; exit 2; }
tag=$1
flavor=${2:-runtime}
manifest_py=$(dirname "$0")/manifest.py
[[ $flavor != runtime || -f $manifest_py ]] || die "$manifest_py not found (it writes the image's manifest)"
[[ $flavor == runtime || $flavor == postgres || $flavor == slurm ]] || die "unknown flavor $flavor"
# root mode: mmdebstrap needs chroot + mounts, and we avoid needing subuids.
[[ $(id -u) -eq 0 ]] || die "must run as root (mmdebstrap --mode=root and docker import)"
command -v docker >/dev/null || die "docker CLI not found"
docker info >/dev/null 2>&1 || die "docker daemon not reachable"
command -v apt-get >/dev/null || die "needs a Debian/Ubuntu host with apt"

if ! command -v mmdebstrap >/dev/null; then
  log "installing mmdebstrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q </dev/null >&2
  apt-get install -y -q mmdebstrap </dev/null >&2
fi

# Package sources. By default reuse exactly the bookworm repositories the
# host's apt resolves (mirror rewrites, local mirrors), so the build works
# wherever `apt-get install` works; fall back to deb.debian.org.
sources=()
if [[ -n ${RANDORI_DEBIAN_MIRROR:-} ]]; then
  m=${RANDORI_DEBIAN_MIRROR%/}
  sources=("deb $m bookworm main" "deb $m bookworm-updates main")
  [[ -z ${RANDORI_DEBIAN_SECURITY_MIRROR:-} ]] ||
    sources+=("deb ${RANDORI_DEBIAN_SECURITY_MIRROR%/} bookworm-security main")
else
  while read -r uri suite; do
    sources+=("deb ${uri%/} $suite main")
  done < <(apt-get indextargets --format '$(TARGET_OF) $(COMPONENT) $(REPO_URI) $(RELEASE)' 2>/dev/null |
    awk '$1 == "deb" && $2 == "main" && $4 ~ /^bookworm(-updates|-security)?$/ { print $3, $4 }' | sort -u)
  if [[ ${#sources[@]} -eq 0 ]]; then
    sources=("deb http://deb.debian.org/debian bookworm main"
      "deb http://deb.debian.org/debian bookworm-updates main"
      "deb http://deb.debian.org/debian-security bookworm-security main")
  fi
fi

# Honour the host's apt proxies (http_proxy env vars pass through on their own).
aptopts=()
while IFS= read -r line; do
  aptopts+=("--aptopt=$line")
done < <(apt-config dump Acquire::http Acquire::https 2>/dev/null | grep '::Proxy' || true)
# snapshot.debian.org serves Release files whose Valid-Until has passed.
[[ ${sources[*]} != *snapshot.debian.org* ]] || aptopts+=('--aptopt=Acquire::Check-Valid-Until "false"')

tmp=$(mktemp -d /tmp/randori-runtime.XXXXXX)
# --one-file-system: never follow mounts a failed mmdebstrap may leave behind.
trap 'rm -rf --one-file-system "$tmp"' EXIT
chmod 0755 "$tmp" # apt downloads as the _apt user
export TMPDIR=$tmp # mmdebstrap's scratch chroot goes here too

# bookworm's python3-scipy hard-depends on python3-pythran, a build-time
# compiler that drags in gcc, g++, boost and -dev packages (~450 MB) which
# scipy never imports at runtime. An empty stand-in satisfies the dependency.
mkdir -p "$tmp/stub/DEBIAN"
cat >"$tmp/stub/DEBIAN/control" <<'CONTROL'
Package: python3-pythran
Version: 99:0+randori.stub
Architecture: all
Maintainer: randori <root@localhost>
Description: empty stand-in: pythran is a build-time tool, unused at runtime
CONTROL
dpkg-deb --root-owner-group --build "$tmp/stub" "$tmp/python3-pythran-stub.deb" >/dev/null

for s in "${sources[@]}"; do log "source: $s"; done
# Docs/man/locales are useless in a container.
common=(--mode=root --variant=minbase --format=tar
  --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-include=/usr/share/locale/locale.alias'
  "${aptopts[@]}"
  --customize-hook='rm -rf "$1"/etc/apt/apt.conf.d/99mmdebstrap "$1"/var/cache/apt/* "$1"/var/cache/debconf/*-old "$1"/var/log/*.log "$1"/var/log/apt/*'
  --customize-hook=': >"$1/etc/resolv.conf"; echo localhost >"$1/etc/hostname"')

if [[ $flavor == postgres ]]; then
  # Initialises the cluster on first start (as the official image does), then runs the
  # server as the postgres user, listening on every address with password authentication.
  cat >"$tmp/entrypoint" <<'ENTRYPOINT'
#!/bin/sh
set -eu
PGDATA=${PGDATA:-/var/lib/postgresql/data}
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /run/postgresql
  chown -R postgres:postgres "$PGDATA" /run/postgresql
  chmod 0700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pw=$(mktemp)
  printf '%s' "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}" >"$pw"
  initdb -D "$PGDATA" -U "${POSTGRES_USER:-postgres}" --pwfile="$pw" \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pw"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  db=${POSTGRES_DB:-${POSTGRES_USER:-postgres}}
  if [ "$db" != postgres ]; then
    echo "CREATE DATABASE \"$db\"" | postgres --single -D "$PGDATA" postgres >/dev/null
  fi
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/run/postgresql "$@"
ENTRYPOINT
  log "building rootfs (mmdebstrap, minbase bookworm, postgresql-15)"
  start=$SECONDS
  mmdebstrap "${common[@]}" \
    --include=postgresql-15 \
    --essential-hook='mkdir -p "$1/etc/postgresql-common" && echo "create_main_cluster = false" >"$1/etc/postgresql-common/createcluster.conf"' \
    --customize-hook="install -m 0755 $tmp/entrypoint \"\$1/usr/local/bin/randori-postgres\"" \
    bookworm "$tmp/rootfs.tar" "${sources[@]}" >&2
  log "rootfs built in $((SECONDS - start))s ($(du -h "$tmp/rootfs.tar" | cut -f1))"
  log "importing as $tag"
  docker import \
    --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'EXPOSE 5432' \
    --change 'ENTRYPOINT ["/usr/local/bin/randori-postgres"]' \
    --change 'LABEL org.opencontainers.image.title=randori-postgres' \
    --message "PostgreSQL 15 for the randori compose cluster, built by build-offline.sh" \
    "$tmp/rootfs.tar" "$tag" >/dev/null
  log "smoke check"
  docker run --rm --entrypoint postgres "$tag" --version >&2
  log "done: $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'), $((SECONDS - start))s)"
  exit 0
fi

if [[ $flavor == slurm ]]; then
  entrypoint=$(dirname "$0")/../slurm/test-cluster/randori-slurm
  [[ -f $entrypoint ]] || die "$entrypoint not found (the slurm image's entry point)"
  log "building rootfs (mmdebstrap, minbase bookworm, slurm-wlm 22.05, munge)"
  start=$SECONDS
  mmdebstrap "${common[@]}" \
    --include=slurmctld,slurmd,slurm-client,munge,hostname,procps,iproute2 \
    --customize-hook="install -m 0755 '$entrypoint' \"\$1/usr/local/bin/randori-slurm\"" \
    bookworm "$tmp/rootfs.tar" "${sources[@]}" >&2
  log "rootfs built in $((SECONDS - start))s ($(du -h "$tmp/rootfs.tar" | cut -f1))"
  log "importing as $tag"
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENTRYPOINT ["/usr/local/bin/randori-slurm"]' \
    --change 'LABEL org.opencontainers.image.title=randori-slurm' \
    --message "SLURM 22.05 and munge for the randori SLURM test cluster, built by build-offline.sh" \
    "$tmp/rootfs.tar" "$tag" >/dev/null
  log "smoke check"
  docker run --rm --entrypoint slurmd "$tag" -V >&2
  log "done: $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'), $((SECONDS - start))s)"
  exit 0
fi

log "building rootfs (mmdebstrap, minbase bookworm)"
start=$SECONDS
# The Python packages' tests/ dirs (~90 MB) are kept: not worth the risk of breaking an
# import. Customize hooks: the unprivileged user (uid/gid 10001, matching the
# orchestrator's --user) and the mount points for node inputs/outputs.
mmdebstrap "${common[@]}" \
  --include=python3,python3-numpy,python3-pandas,python3-sklearn,python3-scipy,python3-pil,coreutils \
  --include="$tmp/python3-pythran-stub.deb" \
  --customize-hook='chroot "$1" groupadd --gid 10001 sandbox' \
  --customize-hook='chroot "$1" useradd --uid 10001 --gid 10001 --home-dir /home/work --no-create-home --shell /usr/sbin/nologin sandbox' \
  --customize-hook='install -d -m 0755 "$1/home/data" "$1/home/code" && install -d -m 0755 -o 10001 -g 10001 "$1/home/submission" "$1/home/work"' \
  --customize-hook="install -d -m 0755 \"\$1/etc/randori\" && chroot \"\$1\" python3 - <'$manifest_py' >\"\$1/etc/randori/packages.txt\"" \
  bookworm "$tmp/rootfs.tar" "${sources[@]}" >&2
log "rootfs built in $((SECONDS - start))s ($(du -h "$tmp/rootfs.tar" | cut -f1))"

log "importing as $tag"
docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1' \
  --change 'USER 10001:10001' \
  --change 'WORKDIR /home/work' \
  --change 'CMD ["python3"]' \
  --change 'LABEL org.opencontainers.image.title=randori-runtime randori.flavor=cpu' \
  --message "randori runtime, built by build-offline.sh" \
  "$tmp/rootfs.tar" "$tag" >/dev/null

log "smoke check"
docker run --rm --network none "$tag" \
  python3 -c "import numpy, pandas, sklearn, PIL; print(sklearn.__version__, PIL.__version__)" >&2
grep -q '^scikit-learn==' < <(docker run --rm --network none "$tag" cat /etc/randori/packages.txt) ||
  die "the image's manifest (/etc/randori/packages.txt) does not list scikit-learn"
log "done: $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'), $((SECONDS - start))s)"
