#!/usr/bin/env bash
# The official Node and Python SDKs' usual flows (app, webhook, contact, send to a contact and to
# a new number, get, list messages, list conversations, delete) against fake_server started as
# the README says, one fresh fake per SDK.
#
#   tests/interop/sdk_flows.sh FAKE_SERVER_BINARY
#
# Each SDK is installed into target/interop (npm ci from node/package-lock.json; a Python venv
# from python*/requirements.txt). If a registry cannot be reached, that SDK is reported as
# SKIPPED and does not fail the run; a flow that runs and fails does.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
fake="${1:?usage: sdk_flows.sh FAKE_SERVER_BINARY}"
work="$root/target/interop"
mkdir -p "$work"
status=0
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null' EXIT

# Starts a fresh fake on a free-ish port; sets $base.
start_fake() {
  local port=$((19000 + RANDOM % 900)) log="$work/fake.log"
  "$fake" --port "$port" >"$log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do grep -q 'key secret' "$log" && break; sleep 0.1; done
  base="http://127.0.0.1:$port"
}

stop_fake() { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; server=""; }

run_flow() {
  local name="$1"; shift
  start_fake
  echo "== $name against $base"
  if "$@" "$base" fake-project fake-key-id fake-key-secret; then
    echo "$name: all steps ok"
  else
    echo "$name: FAILED"; status=1
  fi
  stop_fake
}

# Node: @sinch/sdk-core, pinned by package-lock.json.
mkdir -p "$work/node"
cp "$here/node/package.json" "$here/node/package-lock.json" "$here/node/flow.js" "$work/node/"
if (cd "$work/node" && npm ci --no-audit --no-fund --loglevel=error >"$work/npm.log" 2>&1); then
  run_flow "node sdk (@sinch/sdk-core)" node "$work/node/flow.js"
else
  echo "node sdk: SKIPPED (npm ci failed; see $work/npm.log)"
fi

# Python: sinch 2.x, and 1.1.4 (the last 1.x, which still has webhooks and conversations).
for flavour in python python-v1; do
  venv="$work/$flavour"
  if [ -x "$venv/bin/python" ] || python3 -m venv "$venv" >/dev/null 2>&1; then
    if "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/$flavour/requirements.txt" >"$work/$flavour-pip.log" 2>&1; then
      run_flow "python sdk ($(cat "$here/$flavour/requirements.txt"))" "$venv/bin/python" "$here/$flavour/flow.py"
      continue
    fi
  fi
  echo "python sdk ($flavour): SKIPPED (pip install failed; see $work/$flavour-pip.log)"
done
exit "$status"
