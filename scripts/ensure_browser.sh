#!/usr/bin/env bash
# Install Debian's Chromium and a CJK font for the browser tests (tests/e2e), only when missing.
# A no-op when both are present. Needs root or password-less sudo to install; otherwise it
# says what is missing and exits 1 (the e2e tests then skip, or fail when CI=true).
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
# Without a CJK font Chinese renders as empty boxes.
dpkg-query -W -f='${Status}' fonts-wqy-microhei 2>/dev/null | grep -q "ok installed" \
  || missing+=(fonts-wqy-microhei)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ]; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "ensure_browser: missing ${missing[*]}; install them as root:" \
       "apt-get install -y ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "ensure_browser: installing ${missing[*]} …"
# The package lists may be absent or stale on a fresh machine: update once, then retry.
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" \
  || { "${sudo[@]}" apt-get update -q && \
       "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; }
