#!/usr/bin/env python3
"""Writes a `git fast-import` stream for a synthetic history: N commits (conventional and
plain subjects, PR merges every 50th, one file touched each), tags at N-200 and N-100."""
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
random.seed(7)
kinds = ["feat", "fix", "docs", "refactor", "perf", "chore(deps)", "test", "ci", None]
words = "parser renderer cli config export import cache index network auth storage queue api docs".split()
t = 1_600_000_000
out = sys.stdout.buffer
for i in range(n):
    mark = i + 1
    t += 60
    w = random.choice(words)
    k = random.choice(kinds)
    msg = f"{k}: change {w} handling number {i}" if k else f"Improve {w} handling number {i}"
    if i % 50 == 0:
        msg = f"Merge pull request #{i} from dev/branch-{i}\n\nImprove {w} behaviour"
    path = f"src/{w}/mod{i % 40}.rs"
    content = f"// {i}\nfn f{i}() {{}}\n".encode()
    who = f"Dev{i % 17} <dev{i % 17}@example.com> {t} +0000"
    data = msg.encode()
    out.write(f"commit refs/heads/main\nmark :{mark}\nauthor {who}\ncommitter {who}\n".encode())
    out.write(f"data {len(data)}\n".encode() + data + b"\n")
    if mark > 1:
        out.write(f"from :{mark - 1}\n".encode())
    out.write(f"M 100644 inline {path}\ndata {len(content)}\n".encode() + content + b"\n")
    if i in (n - 200, n - 100):
        out.write(f"reset refs/tags/v{i}\nfrom :{mark}\n\n".encode())
