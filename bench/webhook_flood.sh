#!/usr/bin/env bash
# Webhook memory under a flood of unsigned bodies (issue 20, point 2): a release build of
# `covalynce serve` (SQLite) gets FLOOD concurrent unsigned bodies of SIZE bytes each on a
# real source's webhook URL while one sender keeps posting ordinary signed deliveries.
# Reports the server's resident memory (idle, peak = VmHWM), what the flood was answered,
# and how the signed deliveries fared.
#
#   bench/webhook_flood.sh                          # this build, 30 × 24 MB
#   BASELINE=/path/to/older/covalynce bench/webhook_flood.sh   # and an older binary, same run
#   FLOOD=60 SIZE=12000000 bench/webhook_flood.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/covalynce-target}"
export FLOOD="${FLOOD:-30}" SIZE="${SIZE:-24000000}"
cargo build --release -q -p covalynce
BINS=("$CARGO_TARGET_DIR/release/covalynce")
[ -n "${BASELINE:-}" ] && BINS+=("$BASELINE")
PAYLOAD="$PWD/crates/server/tests/api/fixtures/github-webhooks/push/with-new-branch.payload.json"
for bin in "${BINS[@]}"; do
  dir="$(mktemp -d /tmp/cvl-bench-XXXXXX)"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  token=$(COVALYNCE_DATA_DIR="$dir" "$bin" token create --workspace bench | tail -1)
  COVALYNCE_DATA_DIR="$dir" COVALYNCE_LOG=warn COVALYNCE_RATE_LIMIT=0 \
    "$bin" serve --addr "127.0.0.1:$port" 2>"$dir/serve.log" &
  pid=$!
  trap 'kill -TERM $pid 2>/dev/null || true' EXIT
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && break; sleep 0.1; done
  python3 bench/webhook_flood.py --label "$bin" --port "$port" --pid "$pid" --token "$token" \
    --payload "$PAYLOAD" --flood "$FLOOD" --size "$SIZE"
  kill -TERM "$pid"; wait "$pid" || true
  rm -rf "$dir"
done
