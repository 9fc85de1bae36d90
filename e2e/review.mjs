// A founder's morning, in a real browser: sign in, clear the stack with keys and a swipe,
// undo, watch a new card arrive live, fix a post in the editor with the platform's own
// counter, approve it. Driven by crates/server/tests/api/browser.rs, which prepares the
// server (three pending cards, an outbox channel) and checks what was published.
//
// Env: BASE_URL, EMAIL, PASSWORD, SHOTS (screenshot dir), HOOK_URL, HOOK_SECRET,
// PAYLOAD (a push delivery to send while the stack is open), CHROMIUM (default
// /usr/bin/chromium). Prints one JSON line of measurements; exits non-zero on failure.
import { createHmac, randomUUID } from "node:crypto";
import { readFileSync, mkdirSync } from "node:fs";
import { check, env, launch, watchedPage } from "./lib.mjs";

const BASE = env("BASE_URL");
const SHOTS = env("SHOTS");
const AI_ANSWER = env("AI_ANSWER");
mkdirSync(SHOTS, { recursive: true });

const browser = await launch();
const measurements = {};
const cspViolations = [];
try {
  const { context, page } = await watchedPage(browser, cspViolations);

  // Desktop and phone width, full page.
  const shoot = async (name) => {
    await page.screenshot({ path: `${SHOTS}/${name}-desktop.png`, fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: `${SHOTS}/${name}-phone.png`, fullPage: true });
    await page.setViewportSize({ width: 1280, height: 860 });
  };
  const count = async () => Number(await page.textContent("[data-count]"));
  const waitCount = (n) => page.waitForFunction((n) => document.querySelector("[data-count]")?.textContent === String(n), n);
  const visibleCard = () => page.locator("[data-card]:not([hidden])");

  // Signed out, the stack sends you to sign in, and back afterwards.
  await page.goto(`${BASE}/`);
  check(page.url().includes("/login"), `redirected to sign in, at ${page.url()}`);
  await page.screenshot({ path: `${SHOTS}/login-desktop.png` });
  await page.fill("#email", env("EMAIL"));
  await page.fill("#password", "not the password");
  await page.click("button[type=submit]");
  check((await page.textContent("[role=alert]")).includes("wrong"), "a wrong password is told plainly");
  await page.fill("#password", env("PASSWORD"));
  await page.click("button[type=submit]");
  await page.waitForURL(`${BASE}/`);

  // The page's weight: every byte of HTML, CSS and JS, before compression.
  const responses = [];
  const weigh = (res) => {
    if (["document", "stylesheet", "script"].includes(res.request().resourceType())) responses.push(res);
  };
  page.on("response", weigh);
  await page.reload();
  await page.waitForLoadState("load");
  page.off("response", weigh);
  const sizes = {};
  for (const res of responses) sizes[res.url()] = (await res.body()).length;
  measurements.page_bytes = Object.values(sizes).reduce((a, b) => a + b, 0);
  measurements.page_files = Object.keys(sizes).length;
  check(measurements.page_files === 3, `HTML, CSS and JS were weighed (${JSON.stringify(sizes)})`);
  check(measurements.page_bytes < 100 * 1024, `the review page is under 100 KB (${measurements.page_bytes} bytes)`);

  check((await count()) === 3, "three cards wait");
  check((await visibleCard().count()) === 1, "one card at a time");
  await page.screenshot({ path: `${SHOTS}/stack-desktop.png`, fullPage: true });

  // Keyboard: a approves, u takes it back, d dismisses, j/k move, ? helps.
  const first = await visibleCard().getAttribute("data-id");
  await page.keyboard.press("a");
  await waitCount(2);
  await page.waitForSelector("[data-toast]:not([hidden])");
  check((await page.textContent("[data-toast-text]")).startsWith("Approved"), "the toast says what happened");
  await page.keyboard.press("u");
  await waitCount(3);
  check((await page.locator(`[data-card][data-id="${first}"]`).count()) === 1, "undo brings the card back");
  measurements.undone = first;

  const before = await visibleCard().getAttribute("data-id");
  await page.keyboard.press("j");
  const next = await visibleCard().getAttribute("data-id");
  check(next !== before, "j shows the next card");
  await page.keyboard.press("k");
  check((await visibleCard().getAttribute("data-id")) === before, "k goes back");

  await page.keyboard.press("?");
  await page.waitForSelector("dialog[data-help][open]");
  await page.keyboard.press("Escape");

  const dismissed = await visibleCard().getAttribute("data-id");
  await page.keyboard.press("d");
  await waitCount(2);
  measurements.dismissed = dismissed;

  // Swipe right: drag the card past a third of its width.
  const swiped = await visibleCard().getAttribute("data-id");
  const box = await visibleCard().boundingBox();
  const y = box.y + 60;
  await page.mouse.move(box.x + box.width / 2, y);
  await page.mouse.down();
  for (let k = 1; k <= 12; k++) await page.mouse.move(box.x + box.width / 2 + k * 35, y + k);
  await page.mouse.up();
  await waitCount(1);
  measurements.swiped = swiped;
  const swipedAt = Date.now();

  // A short swipe springs back and does nothing.
  const stays = await visibleCard().getAttribute("data-id");
  const box2 = await visibleCard().boundingBox();
  await page.mouse.move(box2.x + box2.width / 2, box2.y + 60);
  await page.mouse.down();
  await page.mouse.move(box2.x + box2.width / 2 - 30, box2.y + 62, { steps: 4 });
  await page.mouse.up();
  await page.waitForTimeout(400);
  check((await count()) === 1 && (await visibleCard().getAttribute("data-id")) === stays, "a short drag changes nothing");

  // Live: a push lands while the page is open; its card appears without a reload.
  const payload = readFileSync(env("PAYLOAD"));
  const signature = "sha256=" + createHmac("sha256", env("HOOK_SECRET")).update(payload).digest("hex");
  const res = await fetch(env("HOOK_URL"), {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "user-agent": "GitHub-Hookshot/e2e",
      "x-github-event": "push",
      "x-github-delivery": randomUUID(),
      "x-hub-signature-256": signature,
    },
    body: payload,
  });
  check(res.status === 202 || res.status === 200, `the webhook was accepted (${res.status})`);
  await page.waitForFunction(() => document.querySelector("[data-count]")?.textContent === "2", null, { timeout: 20000 });

  // The phone: the same stack at 390 px.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: `${SHOTS}/stack-phone.png`, fullPage: true });
  await page.setViewportSize({ width: 1280, height: 860 });

  // e opens the editor; the counter counts as X does and turns red over 280.
  const edited = await visibleCard().getAttribute("data-id");
  await page.keyboard.press("e");
  await page.waitForURL(`${BASE}/cards/${edited}/edit`);
  // Refine with AI: the answer streams into the text areas, then is saved as a revision.
  await page.evaluate(() => {
    sessionStorage.removeItem("seen");
    const x = document.querySelector('textarea[data-channel="x"]');
    x.addEventListener("input", () => {
      const seen = JSON.parse(sessionStorage.getItem("seen") || "[]");
      seen.push(x.value);
      sessionStorage.setItem("seen", JSON.stringify(seen));
    });
  });
  await page.fill("#instruction", "make it shorter");
  await page.click("form[data-refine] button[type=submit]");
  await page.waitForURL(`${BASE}/cards/${edited}/edit?saved=1`, { timeout: 20000 });
  const seen = JSON.parse(await page.evaluate(() => sessionStorage.getItem("seen") || "[]"));
  check(seen.length >= 3 && seen.some((v) => v.length > 0 && v.length < AI_ANSWER.length), `the answer arrived in pieces (${seen.length} updates)`);
  check(seen.at(-1) === AI_ANSWER, `the last streamed text is the answer (${seen.at(-1)})`);
  const x = page.locator('textarea[data-channel="x"]');
  check((await x.inputValue()) === AI_ANSWER, "the saved revision shows the refined text");
  check((await page.textContent("[role=status]")).includes("Saved as a new revision"), "the editor says it saved");
  const xCounter = page.locator('[data-channel-edit]:has(textarea[data-channel="x"]) [data-counter]');
  await x.fill("Shipped: faster builds https://example.com/a/very/long/path/that/is/longer/than/twenty/three 🚀");
  const counted = await xCounter.textContent();
  check(counted.startsWith(`${"Shipped: faster builds ".length + 23 + 1 + 2} /`), `X counts a link as 23 and an emoji as 2 (${counted})`);
  check(!(await xCounter.getAttribute("class")).includes("over"), "within the limit, the counter is calm");
  await x.fill("x".repeat(281));
  check((await xCounter.getAttribute("class")).includes("over"), "over 280 the counter is red");
  // A line of three dashes splits the text into a thread: each post must fit, so the
  // counter shows the longest post and how many there are.
  await x.fill(`${"a".repeat(200)}\n\n1/2\n---\n${"b".repeat(120)}\n\n2/2`);
  const threaded = await xCounter.textContent();
  check(threaded === "205 / 280 · thread of 2", `a thread is counted post by post (${threaded})`);
  check(!(await xCounter.getAttribute("class")).includes("over"), "a thread whose posts all fit is calm");
  await x.fill(`short\n---\n${"c".repeat(290)}`);
  check((await xCounter.getAttribute("class")).includes("over"), "one post over 280 turns the counter red");
  const bsky = page.locator('textarea[data-channel="bluesky"]');
  if (await bsky.count()) {
    await bsky.fill("👩‍💻 ok");
    const b = await page.locator('[data-channel-edit]:has(textarea[data-channel="bluesky"]) [data-counter]').textContent();
    check(b.startsWith("4 /"), `Bluesky counts graphemes (${b})`);
  }
  const finalText = "Faster builds are out: the cache now survives restarts. https://example.com/release";
  await x.fill(finalText);
  check((await page.textContent('[data-channel-edit]:has(textarea[data-channel="x"]) [data-preview-body]')).includes("survives restarts"), "the preview follows the text");
  await page.screenshot({ path: `${SHOTS}/editor-desktop.png`, fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: `${SHOTS}/editor-phone.png`, fullPage: true });
  await page.setViewportSize({ width: 1280, height: 860 });
  await page.click('button[name=intent][value=approve]');
  await page.waitForURL(/\/\?done=approved/);
  check((await count()) === 1, "the approved card left the stack");
  measurements.edited = edited;
  measurements.x_text = finalText;

  // Connect a source: the webhook URL and a generated secret to paste into GitHub.
  await page.click('nav a[href="/sources"]');
  await page.fill("#repo", "acme/rocket");
  await page.click('form:has(#repo) button[type=submit]');
  const hook = await page.inputValue("#hook-url");
  check(hook.startsWith(`${BASE}/hooks/github/`), `the webhook URL is shown to copy (${hook})`);
  check((await page.inputValue("#hook-secret")).length >= 32, "a generated secret is shown once");
  check((await page.locator("td code", { hasText: "acme/rocket" }).count()) === 1, "the source is listed");
  await shoot("sources");
  await page.fill("#repo", "not a repo");
  await page.click('form:has(#repo) button[type=submit]');
  check((await page.textContent("[role=alert]")).length > 10, "a bad repository name is explained");

  // Channels: the outbox answers a test.
  await page.click('nav a[href="/channels"]');
  await page.click('[data-channel-row] form[action$="/test"] button');
  check((await page.textContent("[role=status]")).startsWith("Test sent"), "the channel test passes");
  await shoot("channels");

  // Settings: the emergency stop shows on every page until it is lifted; a token is
  // shown once.
  await page.click('nav a[href="/settings"]');
  await page.click('form[action="/settings/stop"] button');
  await page.waitForSelector(".halted");
  await page.click('form[action="/settings/resume"] button');
  check((await page.locator(".halted").count()) === 0, "lifting the stop removes the banner");
  await page.fill("#token-name", "e2e laptop");
  await page.click('form[action="/settings/token"] button');
  check((await page.inputValue("#shown-once")).startsWith("cvl_"), "the new token is shown once");
  await shoot("settings");

  // History: the swiped card is published (after the undo window), with no error.
  await page.click('nav a[href="/history"]');
  for (let i = 0; i < 40; i++) {
    const row = page.locator(`[data-history-card="${measurements.swiped}"]`);
    if ((await row.count()) && (await row.textContent()).includes("published")) break;
    await page.waitForTimeout(500);
    await page.reload();
  }
  check((await page.locator(`[data-history-card="${measurements.swiped}"]`).textContent()).includes("published"), "history shows the published card");
  measurements.swipe_to_published_ms = Date.now() - swipedAt;
  await shoot("history");

  // Analytics: the published card's lag is counted, and its bar is drawn by the script
  // (the policy allows no inline styles).
  await page.click('nav a[href="/analytics"]');
  await page.waitForSelector("[data-totals]");
  check((await page.textContent("[data-lag-p50]")).trim() !== "—", "the lag of the published card is shown");
  const widest = await page.$$eval("[data-bar]", (bars) =>
    Math.max(0, ...bars.map((b) => b.getBoundingClientRect().width)));
  check(widest > 20, `the lag bar is drawn (widest ${widest}px)`);
  await shoot("analytics");
  // Sources: the connect forms render under the same policy.
  await page.click('nav a[href="/sources"]');
  await page.waitForSelector("form[action='/sources']");
  await shoot("sources");

  check(cspViolations.length === 0, `no Content-Security-Policy violations (${cspViolations.join("; ")})`);
  await context.close();

  // Without JavaScript every action is a form: approve, then undo from the notice.
  const plain = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 390, height: 844 } });
  const p2 = await plain.newPage();
  p2.setDefaultTimeout(15000);
  await p2.goto(`${BASE}/login`);
  await p2.fill("#email", env("EMAIL"));
  await p2.fill("#password", env("PASSWORD"));
  await p2.click("button[type=submit]");
  await p2.waitForURL(`${BASE}/`);
  check((await p2.textContent("[data-count]")) === "1", "one card left, server-rendered");
  await p2.click('[data-card]:not([hidden]) form[data-action="approve"] button');
  await p2.waitForURL(/done=approved/);
  check((await p2.textContent("[data-count]")) === "0", "approved without JavaScript");
  await p2.click('[data-flash] form button');
  await p2.waitForURL(/done=restored/);
  check((await p2.textContent("[data-count]")) === "1", "undone without JavaScript");
  await plain.close();

  // Back with script: swipe the last card left, and the stack is clear.
  const last = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true });
  const p3 = await last.newPage();
  p3.setDefaultTimeout(15000);
  await p3.goto(`${BASE}/login`);
  await p3.fill("#email", env("EMAIL"));
  await p3.fill("#password", env("PASSWORD"));
  await p3.click("button[type=submit]");
  await p3.waitForURL(`${BASE}/`);
  const leftId = await p3.locator("[data-card]:not([hidden])").getAttribute("data-id");
  const b3 = await p3.locator("[data-card]:not([hidden])").boundingBox();
  await p3.mouse.move(b3.x + b3.width / 2, b3.y + 60);
  await p3.mouse.down();
  for (let k = 1; k <= 12; k++) await p3.mouse.move(b3.x + b3.width / 2 - k * 30, b3.y + 60 + k);
  await p3.mouse.up();
  await p3.waitForFunction(() => document.querySelector("[data-count]")?.textContent === "0");
  await p3.waitForSelector("[data-empty]:not([hidden])");
  measurements.swiped_left = leftId;
  await p3.screenshot({ path: `${SHOTS}/stack-empty-phone.png`, fullPage: true });
  await last.close();
} finally {
  await browser.close();
}
console.log(JSON.stringify(measurements));
