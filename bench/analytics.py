"""Seeds a year of a busy workspace into a migrated SQLite data dir: every day 20 cards
(from release events shipped a few hours earlier), 70 % approved and published to two
channels, 20 % edited first, 15 % dismissed, two AI calls each.

    python3 bench/analytics.py DATA_DIR WORKSPACE_SLUG
"""
import json, random, sqlite3, sys, time, uuid

data_dir, slug = sys.argv[1], sys.argv[2]
db = sqlite3.connect(f"{data_dir}/covalynce.db")
ws = db.execute("SELECT id FROM workspaces WHERE slug = ?", (slug,)).fetchone()[0]
now = int(time.time() * 1000)
DAY = 86_400_000
rnd = random.Random(7)
src = str(uuid.uuid4())
db.execute("INSERT INTO sources (id, workspace_id, kind, repo, created_at) VALUES (?, ?, 'github', 'acme/rocket', ?)", (src, ws, now - 400 * DAY))
channels = []
for kind in ("slack", "discord"):
    cid = str(uuid.uuid4())
    channels.append(cid)
    db.execute("INSERT INTO channels (id, workspace_id, kind, name, created_at) VALUES (?, ?, ?, ?, ?)", (cid, ws, kind, f"{kind} #ship", now - 400 * DAY))
cards = pubs = 0
for d in range(365, 0, -1):
    day = (now // DAY - d) * DAY
    for n in range(20):
        shipped = day + rnd.randint(0, 20 * 3600_000)
        drafted = shipped + rnd.randint(5_000, 60_000)
        eid, cid = str(uuid.uuid4()), str(uuid.uuid4())
        key = f"release:acme/rocket:{d}-{n}"
        db.execute("INSERT INTO events (id, workspace_id, source_id, kind, dedup_key, repo, title, data, status, occurred_at, created_at) VALUES (?, ?, ?, 'release', ?, 'acme/rocket', ?, '{}', 'drafted', ?, ?)",
                   (eid, ws, src, key, f"v{d}.{n}", shipped, shipped + 1000))
        text = f"Rocket v{d}.{n} ships faster exports and a cleaner dashboard. " * 3
        variants = json.dumps({"slack": text, "discord": text})
        fate = rnd.random()
        status = "PUBLISHED" if fate < 0.70 else ("DISMISSED" if fate < 0.85 else "PENDING")
        approved_at = drafted + rnd.randint(600_000, 6 * 3600_000)
        db.execute("INSERT INTO cards (id, workspace_id, source_id, event_id, category, status, title, content, variants, risk, publish_at, created_at, updated_at) VALUES (?, ?, ?, ?, 'MKT', ?, ?, ?, ?, 'green', ?, ?, ?)",
                   (cid, ws, key, eid, status, f"v{d}.{n}", text, variants, approved_at if status == "PUBLISHED" else None, drafted, approved_at))
        db.execute("INSERT INTO card_revisions (id, card_id, revision, variants, author, created_at) VALUES (?, ?, 1, ?, 'drafter', ?)", (str(uuid.uuid4()), cid, variants, drafted))
        if rnd.random() < 0.2:
            edited = json.dumps({"slack": text.replace("faster", "much faster"), "discord": text[:120]})
            db.execute("INSERT INTO card_revisions (id, card_id, revision, variants, author, created_at) VALUES (?, ?, 2, ?, 'ada@example.com', ?)", (str(uuid.uuid4()), cid, edited, approved_at - 1000))
        if status == "PUBLISHED":
            for ch in channels:
                ok = rnd.random() < 0.97
                db.execute("INSERT INTO publications (id, workspace_id, card_id, channel_id, status, idempotency_key, attempts, published_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)",
                           (str(uuid.uuid4()), ws, cid, ch, "published" if ok else "failed", str(uuid.uuid4()), approved_at + 2000 if ok else None, approved_at))
                pubs += 1
        for ch in ("slack", "discord"):
            db.execute("INSERT INTO ai_calls (id, workspace_id, card_id, provider, model, purpose, channel, tokens_in, tokens_out, cost_micros, latency_ms, outcome, created_at) VALUES (?, ?, ?, 'openai', 'gpt-4o-mini', 'draft', ?, 900, 200, 255, 800, 'used', ?)",
                       (str(uuid.uuid4()), ws, cid, ch, drafted - 500))
        cards += 1
db.commit()
print(f"seeded {cards} cards, {pubs} publications, {cards * 2} AI calls over 365 days")
