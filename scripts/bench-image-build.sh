#!/usr/bin/env bash
# bench-image-build.sh measures a cold and then a warm `kdrill image build`:
# wall time and the machine's peak memory use above its idle level while
# the build runs. Cold means empty Go build and module caches, an empty
# kdrill cache, and no kdrill root filesystem or base images in Docker.
# The caches live in a scratch folder, so the developer's own stay intact.
# Usage: scripts/bench-image-build.sh [kdrill binary]   (as root)
set -euo pipefail
kdrill=${1:-bin/kdrill}
scratch=$(mktemp -d /tmp/kdrill-bench.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
export GOCACHE=$scratch/gocache GOMODCACHE=$scratch/gomod KDRILL_CACHE_DIR=$scratch/kdrill

used_kib() { awk '/^MemTotal:/ {t=$2} /^MemAvailable:/ {a=$2} END {print t-a}' /proc/meminfo; }

measure() { # label, command...
  local label=$1; shift
  local base peak now start end
  base=$(used_kib); peak=$base
  start=$(date +%s.%N)
  "$@" >"$scratch/$label.out" 2>"$scratch/$label.err" &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    now=$(used_kib); [ "$now" -gt "$peak" ] && peak=$now
    sleep 1
  done
  wait "$pid" || { echo "$label build failed:"; tail -20 "$scratch/$label.err"; exit 1; }
  end=$(date +%s.%N)
  awk -v l="$label" -v s="$start" -v e="$end" -v p="$peak" -v b="$base" -v t="$(cat "$scratch/$label.out")" \
    'BEGIN {printf "%-5s wall %6.1f s   peak memory above idle %5.2f GiB   tag %s\n", l, e - s, (p - b) / 1048576, t}'
  grep -E '^\[[0-9]+/[0-9]+\] .* (done|cached) \(' "$scratch/$label.err" | sed 's/^/      /'
}

docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^kdrill/(rootfs-|base:)' | xargs -r docker rmi >/dev/null
# The node image itself must go too, or the cold build stops at its tag.
docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^kdrill/node:' | xargs -r docker rmi >/dev/null || true
measure cold "$kdrill" image build
measure warm "$kdrill" image build
