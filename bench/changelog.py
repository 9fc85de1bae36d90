"""Seeds N published releases into a migrated SQLite data dir's public changelog: one a
day, newest first, each with notes shaped like a real release's (sections, a dozen
items, links), and turns the changelog on.

    python3 bench/changelog.py DATA_DIR WORKSPACE_SLUG N
"""
import sqlite3, sys, time, uuid

data_dir, slug, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
db = sqlite3.connect(f"{data_dir}/covalynce.db")
ws = db.execute("SELECT id FROM workspaces WHERE slug = ?", (slug,)).fetchone()[0]
now = int(time.time() * 1000)
DAY = 86_400_000
db.execute("INSERT INTO changelogs (workspace_id, public_since, sources, updated_at) VALUES (?, ?, '', ?)", (ws, now, now))
for i in range(n):
    version = f"v1.{i}.0"
    items = "\n".join(f"- Fix the export of report {k} when a column is empty ([#{1000 + i * 12 + k}](https://github.com/acme/rocket/pull/{1000 + i * 12 + k}))" for k in range(8))
    body = (f"## {version}\n\n### Added\n- CSV export for dashboards, with `--since` and `--until` filters\n"
            f"- Dark mode follows the system setting\n\n### Fixed\n{items}\n\n"
            f"**Full changelog**: https://github.com/acme/rocket/compare/v1.{max(i - 1, 0)}.0...{version}\n")
    at = now - (n - i) * DAY
    db.execute("INSERT INTO changelog_entries (workspace_id, version, card_id, publication_id, source_id, project, title, body, release_url, published_at, updated_at) VALUES (?, ?, ?, ?, NULL, 'Rocket', ?, ?, ?, ?, ?)",
               (ws, version, str(uuid.uuid4()), str(uuid.uuid4()), f"Rocket {version}", body, f"https://github.com/acme/rocket/releases/tag/{version}", at, at))
db.commit()
print(f"seeded {n} releases into {slug}'s changelog")
