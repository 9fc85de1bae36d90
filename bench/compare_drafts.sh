#!/usr/bin/env bash
# Drafts of real releases, before and after a change, compared byte for byte.
#
#   bench/compare_drafts.sh OLD_BIN NEW_BIN [REPO...]
#
# For each repository (default: every clone under ~/devrepos/OWNER/NAME), both binaries
# draft the ranges between its last six tags that are not pre-releases; every range whose
# drafts differ is named, with the first lines of the diff (LINES_SHOWN, default 10). A
# speed change should show no difference; a drafting change should show only the ones
# it meant, each read before it is kept.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 OLD_BIN NEW_BIN [REPO...]" >&2; exit 2; }
old=$1 new=$2
shift 2
[ $# -gt 0 ] || set -- "${DEVREPOS:-$HOME/devrepos}"/*/*
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ranges=0 differ=0
for repo in "$@"; do
  prev=""
  for tag in $(git -C "$repo" tag --sort=creatordate | grep -v -i -E 'rc|beta|alpha' | tail -6); do
    if [ -n "$prev" ]; then
      ranges=$((ranges + 1))
      "$old" draft --repo "$repo" --from "$prev" --to "$tag" --format markdown > "$work/old.md" 2>&1 || true
      "$new" draft --repo "$repo" --from "$prev" --to "$tag" --format markdown > "$work/new.md" 2>&1 || true
      if ! cmp -s "$work/old.md" "$work/new.md"; then
        differ=$((differ + 1))
        echo "DIFF $repo $prev..$tag"
        diff "$work/old.md" "$work/new.md" | head -"${LINES_SHOWN:-10}" || true
      fi
    fi
    prev=$tag
  done
done
echo "$ranges ranges, $differ differ"
