#!/usr/bin/env bash
# Create .venv with Python 3.10 (Rasa 3.6 supports Python <= 3.10) and install the
# pinned requirements. Called by make when requirements.lock or pyproject.toml change.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  local candidates=()
  if command -v pyenv >/dev/null 2>&1; then
    local prefix
    prefix=$(pyenv prefix 3.10 2>/dev/null || true)
    [ -z "$prefix" ] && prefix=$(pyenv root 2>/dev/null)/versions/$(pyenv versions --bare 2>/dev/null | grep -E '^3\.10(\.|$)' | tail -n1)
    [ -n "$prefix" ] && candidates+=("$prefix/bin/python3.10")
  fi
  candidates+=("$(command -v python3.10 2>/dev/null || true)")
  for root in "$HOME/.pyenv" /root/.pyenv /usr/local/pyenv; do
    for p in "$root"/versions/3.10*/bin/python3.10; do candidates+=("$p"); done
  done
  for c in "${candidates[@]}"; do
    if [ -n "$c" ] && [ -x "$c" ] && "$c" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
      echo "$c"; return 0
    fi
  done
  return 1
}

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
  if ! PY=$(find_python); then
    echo "error: Python 3.10 not found. Rasa 3.6 needs Python 3.10 (3.11 does not work)." >&2
    echo "       Install it with 'pyenv install 3.10' or your package manager, then run make again." >&2
    exit 1
  fi
  echo "Creating .venv with $PY"
  rm -rf .venv
  "$PY" -m venv .venv
fi
echo "Installing pinned requirements (the first run takes a few minutes)"
log=$(mktemp)
if ! .venv/bin/python -m pip install --disable-pip-version-check -r requirements.lock >"$log" 2>&1; then
  grep -v "is ignored" "$log" | tail -n 30 >&2
  echo "error: installing requirements failed (full log: $log)" >&2
  exit 1
fi
rm -f "$log"
.venv/bin/python -m pip check
.venv/bin/python -c 'import rasa, rasa_sdk, jieba, rapidfuzz, redis, telegram, wechatpy, pytest, mypy'
