#!/usr/bin/env bash
# docker-up.sh makes sure a Docker engine answers, installing and starting one
# where this is a root shell on Debian or Ubuntu. Idempotent: an engine that
# already answers is used as it is.
#
# On kernels whose capability bounding set lacks capabilities runc asks for
# (privileged containers then fail with "unable to apply caps"), it registers
# kdrill-runc-shim as dockerd's default runtime. Nowhere else.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
log() { echo "docker-up: $*" >&2; }
die() { echo "docker-up: error: $*" >&2; exit 1; }

engine_answers() { timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# bounding_set_short succeeds when CapBnd lacks any capability up to the
# highest one the kernel knows (cap_last_cap).
bounding_set_short() {
  local last bnd want
  last=$(cat /proc/sys/kernel/cap_last_cap 2>/dev/null || echo 40)
  bnd=$((16#$(awk '/^CapBnd:/ {print $2}' /proc/self/status)))
  want=$(( (1 << (last + 1)) - 1 ))
  [ $(( bnd & want )) -ne "$want" ]
}

shim_installed() { [ -x /usr/local/bin/kdrill-runc-shim ] && grep -q kdrill-runc-shim /etc/docker/daemon.json 2>/dev/null; }

install_shim() {
  command -v go >/dev/null || die "the kernel's capability bounding set is short and the runtime shim needs Go to build; install Go 1.26+ and run again"
  log "capability bounding set lacks capabilities: installing kdrill-runc-shim as dockerd's default runtime"
  (cd "$here" && CGO_ENABLED=0 go build -trimpath -o /usr/local/bin/kdrill-runc-shim ./cmd/kdrill-runc-shim) \
    || die "build kdrill-runc-shim failed (see above)"
  mkdir -p /etc/docker
  local cfg=/etc/docker/daemon.json
  if [ -s "$cfg" ] && ! grep -q kdrill-runc-shim "$cfg"; then
    cp "$cfg" "$cfg.kdrill-backup"
    log "kept the previous $cfg as $cfg.kdrill-backup"
  fi
  cat >"$cfg" <<'JSON'
{
  "runtimes": {"kdrill-runc-shim": {"path": "/usr/local/bin/kdrill-runc-shim"}},
  "default-runtime": "kdrill-runc-shim"
}
JSON
}

start_dockerd() {
  if command -v systemctl >/dev/null && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
    systemctl restart docker || die "systemctl restart docker failed; see 'journalctl -u docker'"
  else
    pkill -x dockerd 2>/dev/null && sleep 2 || true
    mkdir -p /var/log
    nohup dockerd >/var/log/kdrill-dockerd.log 2>&1 &
  fi
  for _ in $(seq 1 60); do
    engine_answers && return 0
    sleep 1
  done
  die "dockerd did not answer within 60 s; its log: /var/log/kdrill-dockerd.log (or 'journalctl -u docker')"
}

if engine_answers && { ! bounding_set_short || shim_installed; }; then
  log "engine answers: $(docker version --format 'server {{.Server.Version}}')"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  die "no Docker engine answers and this is not root; start Docker (or run 'sudo make docker') and try again"
fi

if ! command -v dockerd >/dev/null; then
  command -v apt-get >/dev/null || die "no Docker engine answers and apt-get is missing; install Docker for this system by hand"
  log "installing docker.io with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || die "apt-get update failed; check the package mirror"
  apt-get install -y -qq --no-install-recommends docker.io >/dev/null \
    || die "apt-get install docker.io failed; run it by hand to see why"
fi

if bounding_set_short && ! shim_installed; then
  install_shim
fi

log "starting dockerd"
start_dockerd
log "engine answers: $(docker version --format 'server {{.Server.Version}}')"
