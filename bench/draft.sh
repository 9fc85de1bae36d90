#!/usr/bin/env bash
# `covalynce draft` speed: a typical release range (100 commits) and a 10,000-commit range of
# a generated repository, plus this repository's own history. Times are wall clock of the
# whole command (open, walk, diff each commit's tree, understand, draft, print JSON);
# memory is the peak RSS.
#
#   bench/draft.sh [COMMITS]        # default 10000
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/covalynce-target}"
N="${1:-10000}"
cargo build --release -q -p covalynce
BIN="$CARGO_TARGET_DIR/release/covalynce"
REPO="$(mktemp -d /tmp/cvl-bench-repo-XXXXXX)"
trap 'rm -rf "$REPO"' EXIT
git -C "$REPO" init -q -b main
python3 bench/gen_repo.py "$N" | git -C "$REPO" fast-import --quiet
ROOT=$(git -C "$REPO" rev-list --max-parents=0 HEAD)
LAST_TAG=$(git -C "$REPO" tag | sort -V | tail -1)

measure() { # label, args...
  python3 - "$BIN" "$@" <<'PY'
import resource, subprocess, sys, time
binary, label, args = sys.argv[1], sys.argv[2], sys.argv[3:]
runs = []
for _ in range(7):
    t = time.perf_counter()
    subprocess.run([binary, "draft", *args, "--format", "json"], check=True, stdout=subprocess.DEVNULL)
    runs.append(time.perf_counter() - t)
runs.sort()
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"{label}: median {runs[3] * 1000:.1f} ms, min {runs[0] * 1000:.1f} ms (7 runs), peak RSS {rss:.0f} MiB")
PY
}

PREV_TAG=$(git -C "$REPO" tag | sort -V | tail -2 | head -1)
measure "release range ($(git -C "$REPO" rev-list --count "$PREV_TAG..$LAST_TAG") commits, previous tag to tag)" --repo "$REPO" --to "$LAST_TAG"
measure "$N commits" --repo "$REPO" --from "$ROOT" --to HEAD
measure "this repository ($(git rev-list --count HEAD) commits)" --repo . --from "$(git rev-list --max-parents=0 HEAD)" --to HEAD
