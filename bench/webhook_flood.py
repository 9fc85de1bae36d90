"""Drives bench/webhook_flood.sh: a flood of unsigned webhook bodies plus a trickle of
signed deliveries against one running server, with its memory sampled from /proc."""
import argparse, asyncio, hashlib, hmac, json, statistics, time, urllib.request

SECRET = b"flood-secret"


def rss_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def api(port, token, path, body):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"})
    return json.load(urllib.request.urlopen(req))


async def post(port, path, headers, body, chunk=64 * 1024):
    """One HTTP/1.1 POST on its own connection; returns (status, seconds). The answer is
    read while the body is still being written: a server may answer (503, 413) before it
    reads the body, and then stops reading it."""
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "connection: close\r\n\r\n"

    async def send():
        try:
            writer.write(head.encode())
            view = memoryview(body)
            for i in range(0, len(body), chunk):
                writer.write(view[i:i + chunk])
                await writer.drain()
        except OSError:
            pass  # answered and closed before the whole body was sent

    sending = asyncio.create_task(send())
    try:
        line = await asyncio.wait_for(reader.readline(), timeout=120)
        status = int(line.split()[1]) if line else 0
    except (OSError, IndexError, asyncio.TimeoutError):
        status = 0
    sending.cancel()
    writer.close()
    return status, time.perf_counter() - start


async def main():
    p = argparse.ArgumentParser()
    for name in ("label", "token", "payload"):
        p.add_argument("--" + name, required=True)
    p.add_argument("--seconds", type=float, default=10.0)
    for name in ("port", "pid", "flood", "size"):
        p.add_argument("--" + name, type=int, required=True)
    a = p.parse_args()
    src = api(a.port, a.token, "/api/v1/sources",
              {"kind": "github", "repo": "Codertocat/Hello-World", "secret": SECRET.decode()})
    hook = f"/hooks/github/{src['data']['id']}"
    template = json.load(open(a.payload))
    idle = rss_kib(a.pid, "VmRSS")
    flood_body = b" " * a.size
    unsigned = {"x-github-event": "push", "x-github-delivery": "flood",
                "x-hub-signature-256": "sha256=" + "0" * 64, "content-type": "application/json"}
    done = asyncio.Event()
    samples = []

    async def sample():
        while not done.is_set():
            samples.append(rss_kib(a.pid, "VmRSS"))
            await asyncio.sleep(0.01)

    async def signed():
        results, n = [], 0
        while not done.is_set():
            n += 1
            v = dict(template)
            v["after"] = f"{n:040x}"
            v["head_commit"] = dict(v["head_commit"], id=f"{n:040x}")
            body = json.dumps(v).encode()
            sig = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
            results.append(await post(a.port, hook, {
                "x-github-event": "push", "x-github-delivery": f"signed-{n}",
                "x-hub-signature-256": sig, "content-type": "application/json"}, body))
            await asyncio.sleep(0.02)
        return results

    sampler = asyncio.create_task(sample())
    trickle = asyncio.create_task(signed())
    started = time.perf_counter()

    async def sender():
        # An attacker does not stop at the first refusal: each sender sends again at once,
        # for the whole run.
        answers = []
        while time.perf_counter() - started < a.seconds:
            answers.append(await post(a.port, hook, unsigned, flood_body))
        return answers

    flood = [x for xs in await asyncio.gather(*[sender() for _ in range(a.flood)]) for x in xs]
    elapsed = time.perf_counter() - started
    await asyncio.sleep(0.5)
    done.set()
    signed_results = await trickle
    await sampler
    peak = rss_kib(a.pid, "VmHWM")
    codes = {}
    for status, _ in flood:
        codes[status] = codes.get(status, 0) + 1
    ok = [s for s, _ in signed_results if s == 202]
    lat = sorted(t for s, t in signed_results if s == 202)
    print(f"[{a.label}] flood: {a.flood} senders of {a.size} B unsigned bodies for {elapsed:.1f} s, "
          f"{len(flood)} bodies; answers {codes} (0 = connection closed before the answer was read)")
    print(f"[{a.label}] RSS idle {idle / 1024:.0f} MiB, peak sampled {max(samples) / 1024:.0f} MiB, "
          f"VmHWM {peak / 1024:.0f} MiB")
    p50 = statistics.median(lat) * 1000 if lat else float("nan")
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else float("nan")
    print(f"[{a.label}] signed deliveries during the flood: {len(ok)}/{len(signed_results)} accepted "
          f"(202), p50 {p50:.1f} ms, max {p99:.1f} ms")


asyncio.run(main())
