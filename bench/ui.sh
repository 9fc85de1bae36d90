#!/usr/bin/env bash
# Review page weight and first paint on a phone profile: the demo server (release build),
# its populated stack, measured by bench/ui.mjs in Debian's Chromium.
#
#   bench/ui.sh            # 7 loads, phone profile: 4x CPU slowdown, 1.6 Mbit/s, 150 ms RTT
#   RUNS=15 bench/ui.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/covalynce-target}"
[ -d e2e/node_modules/playwright-core ] || npm ci --prefix e2e --no-audit --no-fund --loglevel=error
cargo build --release -q -p covalynce
BIN="$CARGO_TARGET_DIR/release/covalynce"
DIR="$(mktemp -d /tmp/cvl-bench-ui-XXXXXX)"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
COVALYNCE_DATA_DIR="$DIR" COVALYNCE_LOG=warn "$BIN" serve --demo --addr "127.0.0.1:$PORT" >"$DIR/out.log" 2>"$DIR/serve.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do grep -q "Review:" "$DIR/out.log" 2>/dev/null && curl -sf "http://127.0.0.1:$PORT/health/ready" >/dev/null && break; sleep 0.1; done
LINK=$(awk '/Review:/ {print $2}' "$DIR/out.log")
# Let the demo's drafting finish so the stack is full.
sleep 3
BASE="http://127.0.0.1:$PORT" LINK="$LINK" RUNS="${RUNS:-7}" node bench/ui.mjs
