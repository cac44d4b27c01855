#!/usr/bin/env bash
# chromium.sh installs Debian's headless-capable chromium, which the report
# tests (reports/ TestChromium) render the HTML report in, where it is missing
# and this is a root shell with apt. Elsewhere it says what to install.
set -euo pipefail
for c in chromium chromium-browser google-chrome; do
  command -v "$c" >/dev/null && exit 0
done
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "chromium: error: no chromium found; install it with your package manager (as root on Debian: apt-get install chromium)" >&2
  exit 1
fi
echo "chromium: installing chromium (once; the report tests render in it)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || { echo "chromium: error: apt-get update failed; check the package mirror" >&2; exit 1; }
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null \
  || { echo "chromium: error: apt-get install chromium failed; run it by hand to see why" >&2; exit 1; }
