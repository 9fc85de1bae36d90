#!/usr/bin/env python3
"""How often a post's sentences recur across a real project's releases.

  bench/recurrence.py BIN REPO...

Drafts each repository's last 10 releases (plain `vX.Y.Z` / `X.Y.Z` tags) with
`BIN draft --format json` and counts, over the X, Bluesky, Mastodon and LinkedIn posts, how
many posts contain each sentence of four or more words. Issue 21's rule: none in more than a
fifth of a project's posts.
"""
import collections, json, re, subprocess, sys

binary, repos = sys.argv[1], sys.argv[2:]
for repo in repos:
    tags = [t for t in subprocess.run(["git", "-C", repo, "tag", "--sort=-v:refname"],
                                      capture_output=True, text=True).stdout.split()
            if re.fullmatch(r"v?\d+\.\d+\.\d+", t)][:11]
    seen, posts = collections.Counter(), 0
    for new, old in zip(tags, tags[1:]):
        out = subprocess.run([binary, "draft", "--repo", repo, "--from", old, "--to", new, "--format", "json"],
                             capture_output=True, text=True, check=True).stdout
        drafted = json.loads(out)
        for channel in ["x", "bluesky", "mastodon", "linkedin"]:
            posts += 1
            sentences = {" ".join(s.split()) for s in re.split(r"[.!?:](?:\s|$)|\n", drafted["posts"][channel])
                         if len(s.split()) >= 4}
            seen.update(sentences)
    top = seen.most_common(1)
    n, sentence = (top[0][1], top[0][0]) if top else (0, "")
    print(f"{repo.rstrip('/').split('/')[-1]}: {posts} posts, {len(tags) - 1} releases; "
          f"most repeated sentence in {n} ({n / max(posts, 1):.0%}): {sentence[:80]}")
