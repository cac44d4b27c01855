#!/usr/bin/env bash
# bench-cluster.sh times 'kdrill cluster up' from a built node image to all
# nodes Ready and the workload answering, then 'kdrill cluster down'.
# Usage: scripts/bench-cluster.sh NODE_IMAGE [kdrill binary]
set -euo pipefail
image=${1:?usage: $0 NODE_IMAGE [kdrill binary]}
kdrill=${2:-bin/kdrill}
name=kdrill-bench
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); awk -v s="$s" -v e="$e" 'BEGIN {printf "%.1f", e - s}'; }
up=$(t "$kdrill" cluster up --name "$name" --image "$image" --port 31180)
down=$(t "$kdrill" cluster down --name "$name")
echo "cluster up ${up} s (to nodes Ready and the workload answering); cluster down ${down} s"
