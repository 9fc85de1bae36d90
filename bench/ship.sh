#!/usr/bin/env bash
# Ship-to-draft latency under load: a GitHub push webhook's arrival → its PENDING card, and
# an approval → its line in the outbox. p50/p99 at a steady arrival rate (open loop).
#
#   bench/ship.sh                    # SQLite and PostgreSQL, 1,000 pushes at 100/s
#   bench/ship.sh sqlite             # one backend
#   RATE=200 CARDS=2000 bench/ship.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/covalynce-target}"
BACKENDS="${1:-sqlite postgres}"
CARDS="${CARDS:-1000}"
RATE="${RATE:-100}"
PG_ADMIN="${COVALYNCE_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"
cargo build --release -q -p covalynce
BIN="$CARGO_TARGET_DIR/release/covalynce"

for backend in $BACKENDS; do
  DIR="$(mktemp -d /tmp/cvl-bench-ship-XXXXXX)"
  DB=""
  if [ "$backend" = postgres ]; then
    DB="cvl_bench_ship_$$"
    # As in production: two ordinary roles, the owner migrates and the server runs as one
    # that owns nothing, so row level security applies (a superuser would bypass it and
    # measure less work than a deployment does).
    for role in covalynce_test_app covalynce_test_owner; do
      psql "$PG_ADMIN" -qc "DO \$\$ BEGIN CREATE ROLE $role LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END \$\$" >/dev/null
    done
    psql "$PG_ADMIN" -qc "CREATE DATABASE $DB OWNER covalynce_test_owner" >/dev/null
    HOSTPART="${PG_ADMIN#*://}"; HOSTPART="${HOSTPART#*@}"
    export DATABASE_URL="postgres://covalynce_test_app@${HOSTPART%/*}/$DB"
    export COVALYNCE_DATABASE_OWNER_URL="postgres://covalynce_test_owner@${HOSTPART%/*}/$DB"
  else
    unset DATABASE_URL COVALYNCE_DATABASE_OWNER_URL
  fi
  export COVALYNCE_DATA_DIR="$DIR" COVALYNCE_LOG=warn COVALYNCE_RATE_LIMIT=0  # one token sends everything
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$BIN" serve --addr "127.0.0.1:$PORT" 2>"$DIR/serve.log" &
  PID=$!
  cleanup() {
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    [ -n "$DB" ] && psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null || true
    rm -rf "$DIR"
  }
  trap cleanup EXIT
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health/ready" >/dev/null && break; sleep 0.1; done
  TOKEN=$("$BIN" token create --workspace bench | tail -1)
  # The SOLO plan drafts 5 cards; the benchmark needs more. (Plans are not this bench's subject.)
  if [ "$backend" = postgres ]; then
    psql "${PG_ADMIN%/*}/$DB" -qc "UPDATE workspaces SET card_limit = 1000000" >/dev/null
  else
    python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('UPDATE workspaces SET card_limit = 1000000'); c.commit()" "$DIR/covalynce.db"
  fi
  echo "== $backend: $CARDS pushes at $RATE/s, then $CARDS approvals at $RATE/s"
  python3 bench/ship.py "http://127.0.0.1:$PORT" "$TOKEN" "$DIR/outbox.jsonl" "$CARDS" "$RATE"
  cleanup
  trap - EXIT
done
