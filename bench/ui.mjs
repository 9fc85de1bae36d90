// Measures the review page: bytes of HTML, CSS and JS (raw and gzip as served), and
// first contentful paint / load on a phone profile, over RUNS cold loads.
import { createRequire } from "node:module";
import http from "node:http";
const require = createRequire(new URL("../e2e/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const BASE = process.env.BASE, LINK = process.env.LINK, RUNS = Number(process.env.RUNS || 7);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
try {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 3 });
  const page = await context.newPage();
  await page.goto(LINK);
  const cards = await page.textContent("[data-count]");
  // Sizes as served: raw bodies and the gzip'd wire size (Content-Length of the compressed answer).
  const cookies = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
  const urls = [`${BASE}/`, ...(await page.$$eval("link[rel=stylesheet], script[src]", (els) => els.map((e) => e.href || e.src)))];
  let raw = 0, gz = 0;
  const files = [];
  for (const url of urls) {
    const plain = await fetch(url, { headers: { cookie: cookies } });
    const body = Buffer.from(await plain.arrayBuffer()).length;
    // node:http does not decompress: these are the bytes on the wire.
    const [wire, encoding] = await new Promise((resolve, reject) => {
      http.get(url, { headers: { cookie: cookies, "accept-encoding": "gzip" } }, (res) => {
        let n = 0;
        res.on("data", (c) => { n += c.length; });
        res.on("end", () => resolve([n, res.headers["content-encoding"]]));
      }).on("error", reject);
    });
    raw += body; gz += wire;
    files.push(`${new URL(url).pathname.split("/").pop() || "index.html"} ${body} B (${encoding || "identity"} ${wire} B)`);
  }
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 750e3 / 8 });
  const fcp = [], load = [];
  for (let i = 0; i < RUNS; i++) {
    await page.goto(`${BASE}/`, { waitUntil: "load" });
    const t = await page.evaluate(() => new Promise((resolve) => {
      const load = performance.getEntriesByType("navigation")[0].loadEventEnd;
      new PerformanceObserver((list) => {
        const e = list.getEntriesByName("first-contentful-paint")[0];
        if (e) resolve({ fcp: e.startTime, load });
      }).observe({ type: "paint", buffered: true });
      setTimeout(() => resolve({ fcp: NaN, load }), 5000);
    }));
    fcp.push(t.fcp); load.push(t.load);
  }
  console.log(`review page with ${cards} pending cards: ${files.join(", ")}`);
  console.log(`total ${raw} B raw (${(raw / 1024).toFixed(1)} KiB), ${gz} B gzip`);
  console.log(`phone profile (4x CPU, 1.6 Mbit/s, 150 ms RTT), ${RUNS} cold loads: first contentful paint median ${median(fcp).toFixed(0)} ms (min ${Math.min(...fcp).toFixed(0)}, max ${Math.max(...fcp).toFixed(0)}); load median ${median(load).toFixed(0)} ms`);
} finally {
  await browser.close();
}
