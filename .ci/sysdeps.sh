#!/usr/bin/env bash
# Installs the Debian packages listed in .ci/apt-packages.txt (or those named) that are missing.
# Runs apt-get only as root; otherwise it names what is missing (tests needing it skip with a reason).
set -euo pipefail
cd "$(dirname "$0")/.."
# Packages named as arguments instead of the whole list: `make ocr-deps` (for `make run`).
if [ $# -gt 0 ]; then
    wanted=("$@")
else
    mapfile -t wanted < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' .ci/apt-packages.txt | grep -v '^$' || true)
fi
missing=()
for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "sysdeps: not root or no apt-get; missing: ${missing[*]} (tests that need them skip)" >&2
    exit 0
fi
echo "sysdeps: installing ${missing[*]}"
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
