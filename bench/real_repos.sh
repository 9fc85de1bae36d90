#!/usr/bin/env bash
# Drafting speed on real repositories, side by side with git-cliff on the same ranges.
#
#   bench/real_repos.sh [BIN...]         # default: the release build of this checkout
#
# Each BIN (e.g. an older build, for before/after in one run) and git-cliff (keeping
# unconventional commits, as real repositories need) draft the same release ranges; the
# median of 5 runs per range is printed, then each tool's total and its ratio to git-cliff.
# Repositories are clones of fetched mirrors under ~/devrepos/OWNER/NAME (see
# ../shared/eval/README.md); a missing one is skipped and said so.
set -euo pipefail
cd "$(dirname "$0")/.."
DEV="${DEVREPOS:-$HOME/devrepos}"
if [ $# -eq 0 ]; then
  cargo build --release -q
  set -- "${CARGO_TARGET_DIR:-target}/release/covalynce"
fi
command -v git-cliff >/dev/null || pip install -q git-cliff
CFG=$(mktemp -d)
(cd "$CFG" && git-cliff --init >/dev/null 2>&1 && sed -i 's/filter_unconventional = true/filter_unconventional = false/' cliff.toml)

# repository  from  to   (bundled JavaScript, a 300-commit release, large Go/Rust/PHP ranges)
RANGES="
bigskysoftware/htmx v2.0.3 v2.0.4
bigskysoftware/htmx v4.0.0-beta4 v4.0.0-beta5
clap-rs/clap v3.2.25 v4.0.0
clap-rs/clap v3.1.18 v3.2.0
gin-gonic/gin v1.10.1 v1.11.0
prometheus/client_golang v1.23.2 v1.24.0
gitui-org/gitui v0.27.0 v0.28.0
Seldaek/monolog 3.9.0 3.10.0
"
python3 - "$CFG/cliff.toml" "$DEV" "$RANGES" "$@" <<'EOF'
import os, statistics, subprocess, sys, time
cfg, dev, ranges, bins = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
tools = [(os.path.basename(b) + (f"#{i}" if len(bins) > 1 else ""), b) for i, b in enumerate(bins)]
totals = {name: 0.0 for name, _ in tools} | {"git-cliff": 0.0}
def median(cmd, cwd):
    runs = []
    for _ in range(5):
        t = time.monotonic()
        subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        runs.append(time.monotonic() - t)
    return statistics.median(runs)
print(f"{'range':45} {'commits':>7} " + " ".join(f"{n:>14}" for n, _ in tools) + f" {'git-cliff':>10}")
for line in ranges.strip().splitlines():
    repo, a, b = line.split()
    path = os.path.join(dev, repo)
    if not os.path.isdir(path):
        print(f"{repo}: not cloned under {dev}, skipped")
        continue
    n = len(subprocess.run(["git", "-C", path, "rev-list", f"{a}..{b}"], capture_output=True, text=True).stdout.split())
    row = []
    for name, binary in tools:
        t = median([binary, "draft", "--repo", path, "--from", a, "--to", b, "--format", "markdown"], path)
        totals[name] += t
        row.append(f"{t*1000:12.0f}ms")
    c = median(["git-cliff", "--config", cfg, f"{a}..{b}"], path)
    totals["git-cliff"] += c
    print(f"{repo+' '+a+'..'+b:45} {n:>7} " + " ".join(f"{x:>14}" for x in row) + f" {c*1000:8.0f}ms")
print("total: " + ", ".join(f"{k} {v:.2f} s ({v / totals['git-cliff']:.1f}x git-cliff)" for k, v in totals.items()))
EOF
