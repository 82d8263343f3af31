#!/usr/bin/env bash
# Extra gateway memory per proxied session (issue 14): `warest sandbox` with N linked
# sessions, directly and then through one microsocks; prints the RssAnon growth per
# session of each and microsocks' own RssAnon. Needs a sandbox build of the binary:
#   cargo build --all-features --bin warest && N=60 BIN=$CARGO_TARGET_DIR/debug/warest bash benches/proxy_rss.sh
set -euo pipefail
N=${N:-30}
BIN=${BIN:?set BIN to a sandbox build of warest}
KEY=rss-measure-admin-key-000000
run() { # $1 = label, $2 = proxy urls (may be empty)
  local dir; dir=$(mktemp -d)
  env -i PATH="$PATH" WAREST_HOST=127.0.0.1 PORT=0 WAREST_DATA_DIR="$dir" WAREST_ADMIN_APIKEY=$KEY \
      LOG_LEVEL=warn WAREST_SESSION_BOOT_JITTER_MS=0 WAREST_PROXY_URLS="$2" \
      "$BIN" sandbox > "$dir/out" 2> "$dir/err" &
  local pid=$!
  local addr=""
  for _ in $(seq 1 300); do
    addr=$(grep -o 'listening on [0-9.:]*' "$dir/err" | head -1 | awk '{print $3}') || true
    [ -n "$addr" ] && break; sleep 0.2
  done
  until curl -sf "http://$addr/api/v1/server/healthz" >/dev/null; do sleep 0.2; done
  sleep 3
  local before; before=$(awk '/RssAnon/{print $2}' /proc/$pid/status)
  for i in $(seq 1 "$N"); do
    curl -sf -H "X-WAREST-API-Key: $KEY" "http://$addr/api/v1/session/create?sessionId=m$i" >/dev/null || true
    curl -sf -H "X-WAREST-API-Key: $KEY" -H 'Content-Type: application/json' \
      -d "{\"phone\":\"1555$((2000000 + i))\"}" "http://$addr/api/v1/sandbox/sessions/m$i/link" | grep -q WORKING
  done
  sleep 10
  local after; after=$(awk '/RssAnon/{print $2}' /proc/$pid/status)
  local working; working=$(curl -sf -H "X-WAREST-API-Key: $KEY" "http://$addr/api/v1/session/list" | grep -o '"WORKING"' | wc -l)
  echo "$1: N=$N working=$working RssAnon before=${before}KiB after=${after}KiB per-session=$(( (after - before) / N ))KiB"
  [ -n "${MS:-}" ] && echo "  microsocks RssAnon with the tunnels open: $(awk '/RssAnon/{print $2}' /proc/$MS/status)KiB"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
PORT_S=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
MSLOG=$(mktemp)
microsocks -i 127.0.0.1 -p "$PORT_S" > "$MSLOG" 2>&1 &
MS=$!
sleep 0.5
run direct ""
run proxied "socks5://127.0.0.1:$PORT_S"
echo "microsocks RssAnon with its tunnels closed again: $(awk '/RssAnon/{print $2}' /proc/$MS/status)KiB, connections logged: $(grep -c 'connected to' "$MSLOG")"
kill $MS; rm -f "$MSLOG"
