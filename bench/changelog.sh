#!/usr/bin/env bash
# The public changelog with 1,000 releases on SQLite (bench/changelog.py seeds them, each
# with ~2 KB of real-shaped notes): p50 and p95 of 50 warm requests each for the first
# page, a page deep in the archive, one release's page and both feeds, and the bytes sent.
# Issue 24's target: under 10 ms p50.
#
#   bench/changelog.sh
#   BIN=/tmp/cvl-head bench/changelog.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/covalynce-target}"
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p covalynce
  BIN="$CARGO_TARGET_DIR/release/covalynce"
fi
DIR="$(mktemp -d /tmp/cvl-bench-changelog-XXXXXX)"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT
"$BIN" --data-dir "$DIR" migrate >/dev/null
"$BIN" --data-dir "$DIR" token create --workspace bench >/dev/null
python3 bench/changelog.py "$DIR" bench 1000
"$BIN" --data-dir "$DIR" serve --addr "127.0.0.1:$PORT" >"$DIR/server.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null && break; sleep 0.1; done
python3 - "$PORT" <<'PY'
import sys, time, urllib.request
port = sys.argv[1]
base = f"http://127.0.0.1:{port}/changelog/bench"
for name, path in [("page 1", ""), ("page 40", "?page=40"), ("one release", "/v1.500.0"),
                   ("feed.atom", "/feed.atom"), ("feed.json", "/feed.json")]:
    url = base + path
    urllib.request.urlopen(url).read()  # warm
    times, size = [], 0
    for _ in range(50):
        t = time.perf_counter()
        body = urllib.request.urlopen(url).read()
        times.append((time.perf_counter() - t) * 1000)
        size = len(body)
    times.sort()
    print(f"{name:12} p50 {times[25]:5.2f} ms  p95 {times[47]:5.2f} ms  {size:7,} B")
# A reader that already has the feed.
req = urllib.request.urlopen(base + "/feed.atom")
tag = req.headers["ETag"]
times = []
for _ in range(50):
    t = time.perf_counter()
    try:
        urllib.request.urlopen(urllib.request.Request(base + "/feed.atom", headers={"If-None-Match": tag}))
    except urllib.error.HTTPError as e:
        assert e.code == 304, e.code
    times.append((time.perf_counter() - t) * 1000)
times.sort()
print(f"{'atom 304':12} p50 {times[25]:5.2f} ms  p95 {times[47]:5.2f} ms")
PY
