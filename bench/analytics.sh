#!/usr/bin/env bash
# Analytics over a year: `GET /api/v1/analytics` for 365 days grouped by month, on SQLite,
# with a year of a busy workspace seeded (bench/analytics.py: 7,300 cards, ~10,000
# publications, 14,600 AI calls). The first request computes and keeps each settled day's
# roll-up; later ones read the 365 roll-ups. Median of 7 warm requests.
#
#   bench/analytics.sh
#   BIN=/tmp/cvl-base bench/analytics.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/covalynce-target}"
# BIN=/path/to/covalynce measures that build instead (two builds side by side).
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p covalynce
  BIN="$CARGO_TARGET_DIR/release/covalynce"
fi
DIR="$(mktemp -d /tmp/cvl-bench-analytics-XXXXXX)"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT
"$BIN" --data-dir "$DIR" migrate >/dev/null
TOKEN=$("$BIN" --data-dir "$DIR" token create --workspace bench | tail -1)
python3 bench/analytics.py "$DIR" bench
"$BIN" --data-dir "$DIR" serve --addr "127.0.0.1:$PORT" >"$DIR/server.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null && break; sleep 0.1; done
python3 - "$PORT" "$TOKEN" <<'PY'
import datetime, json, sys, time, urllib.request
port, token = sys.argv[1], sys.argv[2]
today = datetime.datetime.now(datetime.timezone.utc).date()
start = today - datetime.timedelta(days=364)
url = f"http://127.0.0.1:{port}/api/v1/analytics?from={start}&to={today}&group=month"
def get():
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    t = time.perf_counter()
    body = urllib.request.urlopen(req).read()
    return time.perf_counter() - t, json.loads(body)
cold, report = get()
warm = sorted(get()[0] for _ in range(7))
t = report["data"]["totals"]
print(f"a year by month: cold {cold * 1000:.0f} ms (computes and keeps 362 roll-ups), warm median {warm[3] * 1000:.1f} ms, min {warm[0] * 1000:.1f} ms (7 runs)")
print(f"  drafted {t['drafted']}, approved {t['approved']}, approval rate {t['approval_rate']:.2f}, lag p50 {t['lag']['p50_s']} s over {t['lag']['count']} cards, AI ${t['ai_cost_micros'] / 1e6:.2f}")
PY
