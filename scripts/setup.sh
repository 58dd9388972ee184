#!/usr/bin/env bash
# Create .venv and install pinned dependencies; a no-op when nothing changed.
# Usage: scripts/setup.sh [requirements file]   (default: requirements.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
req="${1:-requirements.txt}"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3

if [ ! -x .venv/bin/python ]; then
  if ! "$python" -m venv .venv 2>/dev/null; then
    # Debian/Ubuntu ship venv separately; install it when we are allowed to.
    rm -rf .venv
    if [ "$(id -u)" = 0 ]; then
      apt-get update -q && apt-get install -y -q python3-venv
    elif command -v sudo >/dev/null; then
      sudo apt-get update -q && sudo apt-get install -y -q python3-venv
    else
      echo "Python's venv module is missing: install python3-venv, then run this again." >&2
      exit 1
    fi
    "$python" -m venv .venv
  fi
fi

# Reinstall only when the pinned requirements change.
stamp=".venv/.installed-$(basename "$req")"
want=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r "$req"
  echo "$want" > "$stamp"
fi
