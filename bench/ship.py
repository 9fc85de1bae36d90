"""Driver for bench/ship.sh: open-loop load at a fixed rate, latencies from the server's own
timestamps where the event lands (card created_at, outbox published_at) minus the client's
send time (same machine, same clock)."""
import hashlib, hmac, http.client, json, os, queue, sys, threading, time
from datetime import datetime
from urllib.parse import urlparse

base, token, outbox, n, rate = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
url = urlparse(base)
SECRET = b"bench-secret"
FIXTURE = os.path.join(os.path.dirname(__file__), "../../shared/fixtures/github-webhooks/push/with-new-branch.payload.json")
template = json.load(open(FIXTURE))


def conn():
    return http.client.HTTPConnection(url.hostname, url.port, timeout=30)


def call(c, method, path, body=None, headers=None):
    h = {"authorization": f"Bearer {token}", "content-type": "application/json", **(headers or {})}
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    return r.status, (json.loads(data) if data else None)


def ts(rfc3339):
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


c = conn()
status, src = call(c, "POST", "/api/v1/sources", json.dumps({"kind": "github", "repo": "Codertocat/Hello-World", "secret": SECRET.decode()}))
assert status == 201, src
hook = src["data"]["webhook_url"]
status, ch = call(c, "POST", "/api/v1/channels", json.dumps({"kind": "outbox", "path": outbox, "variant": "x"}))
assert status == 201, ch
channel = ch["data"]["id"]


def open_loop(items, send):
    """Sends items[i] at start + i/rate from a pool of keep-alive connections; returns the
    client send time of each item (epoch seconds)."""
    sent = [None] * len(items)
    q = queue.Queue()
    for i in range(len(items)):
        q.put(i)
    start = time.time() + 0.2

    def worker():
        c = conn()
        while True:
            try:
                i = q.get_nowait()
            except queue.Empty:
                return
            delay = start + i / rate - time.time()
            if delay > 0:
                time.sleep(delay)
            sent[i] = time.time()
            send(c, items[i])

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    late = sum(1 for i, s in enumerate(sent) if s - (start + i / rate) > 0.05)
    if late:
        print(f"  note: {late} of {len(items)} sends started over 50 ms late (client pool saturated)")
    return sent


def report(label, lat):
    lat = sorted(lat)
    pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
    print(f"  {label}: n={len(lat)} p50 {pct(0.50):.1f} ms, p90 {pct(0.90):.1f} ms, p99 {pct(0.99):.1f} ms, max {lat[-1] * 1000:.1f} ms")


# 1. Pushes → PENDING cards.
shas = [f"{i:040x}" for i in range(1, n + 1)]


def push(c, sha):
    v = json.loads(json.dumps(template))
    v["after"] = sha
    v["commits"][0]["id"] = sha
    v["head_commit"]["id"] = sha
    v["commits"][0]["message"] = f"feat: add export format {sha[-6:]}"
    v["head_commit"]["message"] = v["commits"][0]["message"]
    v["commits"][0]["added"] = ["src/lib.rs"]
    body = json.dumps(v).encode()
    sig = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    status, _ = call(c, "POST", hook, body, {"x-github-event": "push", "x-github-delivery": f"bench-{sha}", "x-hub-signature-256": sig})
    assert status == 202, status


sent = open_loop(shas, push)
cards = {}
deadline = time.time() + 120
while len(cards) < n and time.time() < deadline:
    cards = {}
    before = None
    while True:
        q = "/api/v1/cards?limit=200" + (f"&before={before}" if before else "")
        _, page = call(c, "GET", q)
        for card in page["data"]:
            cards[card["source_id"].rsplit(":", 1)[-1]] = card
        before = page["meta"].get("next_before")
        if not before:
            break
    if len(cards) < n:
        time.sleep(0.5)
assert len(cards) == n, f"only {len(cards)} of {n} cards were drafted"
assert all(card["status"] == "pending" for card in cards.values())
report("webhook arrival -> PENDING card", [ts(cards[s]["created_at"]) - t for s, t in zip(shas, sent)])

# 2. Approvals → outbox lines.
ids = [cards[s]["id"] for s in shas]


def approve(c, card_id):
    status, body = call(c, "POST", f"/api/v1/cards/{card_id}/approve", json.dumps({"channels": [channel]}))
    assert status == 202, (status, body)


sent = open_loop(ids, approve)
lines = {}
deadline = time.time() + 120
while len(lines) < n and time.time() < deadline:
    time.sleep(0.5)
    if os.path.exists(outbox):
        lines = {}
        for line in open(outbox):
            if line.endswith("\n"):
                o = json.loads(line)
                assert o["card_id"] not in lines, "published twice"
                lines[o["card_id"]] = o
assert len(lines) == n, f"only {len(lines)} of {n} publications reached the outbox"
report("approve -> outbox line", [ts(lines[i]["published_at"]) - t for i, t in zip(ids, sent)])
