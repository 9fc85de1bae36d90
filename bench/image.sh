#!/usr/bin/env bash
# Release images drawn from real releases' drafts: `covalynce draft --image` on the last
# release of each repository given (default: the development set in ~/devrepos), printing
# the time the drawing alone took (it says so on stderr) and the PNG's size.
# Issue 24's target: under 50 ms an image.
#
#   bench/image.sh                       # the release build of this checkout
#   BIN=/path/to/covalynce bench/image.sh ~/devrepos/*/*
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/covalynce-target}"
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p covalynce
  BIN="$CARGO_TARGET_DIR/release/covalynce"
fi
OUT="$(mktemp -d /tmp/cvl-bench-image-XXXXXX)"
trap 'rm -rf "$OUT"' EXIT
[ $# -gt 0 ] || set -- "$HOME"/devrepos/*/*
for repo in "$@"; do
  tags=$(git -C "$repo" tag --sort=-v:refname | grep -E '^v?[0-9]+\.[0-9]+\.[0-9]+$' | head -2)
  to=$(echo "$tags" | sed -n 1p); from=$(echo "$tags" | sed -n 2p)
  [ -n "$from" ] || continue
  name=$(basename "$repo")
  line=$("$BIN" draft --repo "$repo" --from "$from" --to "$to" --image "$OUT/$name.png" 2>&1 >/dev/null | grep '^image:')
  ms=$(echo "$line" | sed -E 's/.*drawn in ([0-9.]+) ms.*/\1/')
  bytes=$(echo "$line" | sed -E 's/.*\(([0-9]+) bytes.*/\1/')
  printf '%-16s %-22s %6s ms %8s B\n' "$name" "$from..$to" "$ms" "$bytes"
done
