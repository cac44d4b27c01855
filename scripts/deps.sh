#!/usr/bin/env bash
# deps.sh installs the host tools the offline node image build needs
# (debootstrap), where they are missing and this is a root shell with apt.
set -euo pipefail
missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v tar >/dev/null || missing+=(tar)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "deps: error: missing ${missing[*]}; install them with your package manager (as root: apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || { echo "deps: error: apt-get update failed; check the package mirror" >&2; exit 1; }
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || { echo "deps: error: apt-get install ${missing[*]} failed; run it by hand to see why" >&2; exit 1; }
