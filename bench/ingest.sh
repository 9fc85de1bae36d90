#!/usr/bin/env bash
# Webhook ingest benchmark: a release build of `covalynce serve` on SQLite and on
# PostgreSQL, fed signed push deliveries by N concurrent senders (bench/ingest).
#
#   bench/ingest.sh                  # both backends, 64 senders, 20,000 deliveries
#   CONCURRENCY=16 DELIVERIES=5000 bench/ingest.sh sqlite
#
# Server and load generator share this machine's cores; the numbers include both.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/covalynce-target}"
CONCURRENCY="${CONCURRENCY:-64}"
DELIVERIES="${DELIVERIES:-20000}"
WARMUP="${WARMUP:-1000}"
PG_ADMIN="${COVALYNCE_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"
BACKENDS=("${@:-sqlite postgres}")
read -r -a BACKENDS <<< "${BACKENDS[*]}"

cargo build --release -q -p covalynce -p covalynce-bench-ingest
# BIN=… measures another build of the server (a before/after comparison) with the same load.
BIN="${BIN:-$CARGO_TARGET_DIR/release/covalynce}"
LOAD="$CARGO_TARGET_DIR/release/covalynce-bench-ingest"
PAYLOAD="$PWD/crates/server/tests/api/fixtures/github-webhooks/push/with-new-branch.payload.json"
SECRET="bench-secret"

run() {
  local backend="$1" dir url port pid token source
  dir="$(mktemp -d /tmp/cvl-bench-XXXXXX)"
  url=""
  owner_url=""
  if [ "$backend" = postgres ]; then
    local db="cvl_bench_$$_$RANDOM"
    # Two ordinary roles, as in production: the owner migrates, the server runs as a role
    # that owns nothing, and row level security applies.
    for role in covalynce_test_app covalynce_test_owner; do
      psql "$PG_ADMIN" -qc "DO \$\$ BEGIN CREATE ROLE $role LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END \$\$" >/dev/null
    done
    psql "$PG_ADMIN" -qc "CREATE DATABASE $db OWNER covalynce_test_owner" >/dev/null
    local hostpart="${PG_ADMIN#*://}"; hostpart="${hostpart#*@}"
    url="postgres://covalynce_test_app@${hostpart%/*}/$db"
    owner_url="postgres://covalynce_test_owner@${hostpart%/*}/$db"
  fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  token=$(COVALYNCE_DATA_DIR="$dir" DATABASE_URL="$url" COVALYNCE_DATABASE_OWNER_URL="$owner_url" "$BIN" token create --workspace bench | tail -1)
  # Request logs at warn: one line per delivery to a terminal would measure the terminal.
  COVALYNCE_DATA_DIR="$dir" DATABASE_URL="$url" COVALYNCE_LOG=warn COVALYNCE_RATE_LIMIT=0 \
    "$BIN" serve --addr "127.0.0.1:$port" 2>"$dir/serve.log" &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && break; sleep 0.1; done
  source=$(curl -sf -H "Authorization: Bearer $token" -H 'content-type: application/json' \
    -d "{\"kind\":\"github\",\"repo\":\"Codertocat/Hello-World\",\"secret\":\"$SECRET\"}" \
    "http://127.0.0.1:$port/api/v1/sources" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["id"])')
  "$LOAD" --url "http://127.0.0.1:$port" --source "$source" --secret "$SECRET" --payload "$PAYLOAD" \
    --concurrency "$CONCURRENCY" --deliveries "$DELIVERIES" --warmup "$WARMUP" --label "$backend"
  # Every 2xx was durable: the stored count must equal what was sent.
  stored=$(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/metrics" \
    | awk '/^covalynce_webhook_deliveries_total\{outcome="stored"\}/ {print $2}')
  echo "[$backend] stored=$stored (expected $((DELIVERIES + WARMUP)))"
  kill -TERM "$pid"; wait "$pid" || true
  if [ "$backend" = postgres ]; then psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS ${url##*/} WITH (FORCE)" >/dev/null; fi
  rm -rf "$dir"
}

for b in "${BACKENDS[@]}"; do run "$b"; done
