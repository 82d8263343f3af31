#!/usr/bin/env bash
# The contract check: schemathesis fuzzes a freshly started gateway (SQLite, empty data dir)
# with what openapi/openapi.json allows and forbids, and fails on any 5xx and on any answer
# that does not conform to the document (status, content type, headers, schema; valid data
# accepted, invalid data refused).
#
# Usage: .ci/schemathesis.sh <path to a warest binary built with --features sandbox>
# Needs `schemathesis` (PyPI, pinned in .ci/run) on PATH or in $SCHEMATHESIS.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:?usage: .ci/schemathesis.sh <warest binary> [schemathesis options]}"; shift
st="${SCHEMATHESIS:-schemathesis}"

work=$(mktemp -d)
key="schemathesis-admin-key-0123456789"
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# `warest sandbox`: the gateway on its embedded simulated network, so a session the fuzzer
# creates gets its QR as it would from WhatsApp (and stays unlinked: nobody scans it).
# Port 0: the gateway picks a free port and prints it. The document fuzzed is the committed
# one (default build), so the sandbox's own routes are not in it.
env -i PATH="$PATH" HOME="$work" \
  PORT=0 WAREST_HOST=127.0.0.1 WAREST_DATA_DIR="$work/data" \
  WAREST_ADMIN_APIKEY="$key" RATE_LIMIT_MAX=1000000 \
  WAREST_SESSION_QR_WAIT_SEC=1 WAREST_SESSION_BOOT_JITTER_MS=0 \
  RUST_LOG=warn \
  "$bin" sandbox >"$work/out.log" 2>"$work/err.log" &
pid=$!
for _ in $(seq 1 100); do
  addr=$(sed -n 's/^warest: listening on //p' "$work/err.log" | head -n1)
  [ -n "$addr" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/err.log" >&2; exit 1; }
  sleep 0.2
done
[ -n "${addr:-}" ] || { echo "FAIL: the gateway did not start" >&2; cat "$work/err.log" >&2; exit 1; }
base="http://$addr"
echo "gateway on $base"

# Stateless operations only: the ones that stop the process (server restart) and the
# event stream (an SSE answer never ends) are left out; everything else is fuzzed.
status=0
"$st" --config-file .ci/schemathesis.toml run openapi/openapi.json \
  --url "$base" \
  --header "X-WAREST-API-KEY: $key" \
  --checks all \
  --max-examples "${ST_MAX_EXAMPLES:-5}" \
  --seed "${ST_SEED:-1}" \
  --workers 1 \
  --request-timeout 30 \
  --exclude-path-regex '^/api/v1/server/restart$|^/api/v1/events/stream$' \
  --report junit --report-dir "$work/report" \
  --no-color --output-sanitize false "$@" || status=$?

if grep -q "panicked" "$work/err.log"; then
  echo "FAIL: the gateway panicked during the run" >&2
  grep -n "panicked" "$work/err.log" >&2
  status=1
fi
exit "$status"
