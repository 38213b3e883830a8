#!/usr/bin/env bash
# Run the official Python SDK (zohocrmsdk8-0) against a zcrm binary.
#   conformance/python-sdk/run.sh [pytest args...]
# ZCRM_BIN picks the binary (default: target/release/zcrm, else target/debug/zcrm).
# ZCRM_DATABASE_URL, when set, is passed through to the server.
# Writes results.xml (JUnit) and results.md (compatibility table from report.py).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="$HERE/.venv"

if [ ! -x "$VENV/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"

if [ -z "${ZCRM_BIN:-}" ]; then
  ZCRM_BIN="$REPO/target/release/zcrm"
  if [ ! -x "$ZCRM_BIN" ] && [ -x "$REPO/target/debug/zcrm" ]; then
    ZCRM_BIN="$REPO/target/debug/zcrm"
  fi
fi
export ZCRM_BIN

cd "$HERE"
rc=0
"$VENV/bin/python" -m pytest --junitxml="$HERE/results.xml" "$@" || rc=$?
if [ -f "$HERE/results.xml" ]; then
  "$VENV/bin/python" "$HERE/report.py" "$HERE/results.xml" --readme "$REPO/README.md" > "$HERE/results.md" || true
  echo "compatibility table: $HERE/results.md" >&2
fi
exit "$rc"
