// Before approving, a founder sees what each channel will post; she takes back three
// approvals one by one; an over-long X text waits for "as a thread"; a red card from a
// leaked token stays red through an edit until she says the token was rotated; the editor
// works from the keyboard; no page is wider than a phone. Driven by
// crates/server/tests/api/browser.rs, which prepares four cards (the oldest with a long X
// text, the newest with a token in its commit message), an outbox sending the X text and
// an X channel that posts threads, and checks afterwards what was published.
//
// Env: BASE_URL, EMAIL, PASSWORD, SHOTS, CHROMIUM. Prints one JSON line; exits non-zero on
// failure.
import { mkdirSync } from "node:fs";
import { check, env, launch, watchedPage } from "./lib.mjs";

const BASE = env("BASE_URL");
const SHOTS = env("SHOTS");
mkdirSync(SHOTS, { recursive: true });

const browser = await launch();
const seen = {};
const cspViolations = [];
try {
  const { context, page } = await watchedPage(browser, cspViolations);
  page.on("dialog", (d) => d.dismiss());

  const count = async () => Number(await page.textContent("[data-count]"));
  const waitCount = (n) => page.waitForFunction((n) => document.querySelector("[data-count]")?.textContent === String(n), n);
  const card = () => page.locator("[data-card]:not([hidden])");
  const cardId = () => card().getAttribute("data-id");
  const title = async () => (await card().locator("h2").textContent()).trim();

  await page.goto(`${BASE}/login`);
  await page.fill("#email", env("EMAIL"));
  await page.fill("#password", env("PASSWORD"));
  await page.click("button[type=submit]");
  await page.waitForURL(`${BASE}/`);
  check((await count()) === 4, "four cards wait");

  // What each channel sends: the X channel cuts the long text into a thread, the outbox
  // sends the X text as one; the card asks before it approves a thread.
  const a = await cardId();
  const aTitle = await title();
  check((await card().locator("[data-sends]").count()) === 2, "one section per connected channel");
  const xPart = card().locator("details.sends.x");
  check((await xPart.locator(".channel-name").textContent()).includes("Acme on X"), "the X channel is named");
  check(/thread of \d/.test(await xPart.locator("summary").textContent()), "the X post shows as a thread");
  check((await xPart.locator("[data-thread] li").count()) >= 2, "each post of the thread is shown");
  const outboxPart = card().locator("details.sends.outbox");
  check((await outboxPart.locator(".sends-variant").textContent()).trim() === "X text", "the outbox says which text it sends");
  check((await card().locator("time[datetime]").count()) === 1, "the card says when the work shipped");
  check(/^MKT: a post/.test(await card().locator(".tag").getAttribute("title")), "the category badge says what it means");
  // The pushes' commits are years old: a date in words, the exact time on hover.
  const shipped = card().locator("time[datetime]");
  const shippedText = await shipped.textContent();
  check(!/\dT\d|Z$/.test(shippedText) && /[A-Za-z]/.test(shippedText), `in words, not ISO (${shippedText})`);
  check((await shipped.getAttribute("title") || "").length > 5, "the exact time on hover");
  await page.screenshot({ path: `${SHOTS}/stack-desktop.png`, fullPage: true });

  await page.keyboard.press("a");
  await card().locator("[data-card-error]:not([hidden])").waitFor();
  const refusal = await card().locator("[data-card-error]").textContent();
  check(refusal.includes("thread"), `the over-long X text is held, on the card (${refusal})`);
  check((await count()) === 4 && (await cardId()) === a, "nothing was approved");
  await card().locator("[data-as-thread]").check();
  await page.keyboard.press("a");
  await waitCount(3);

  // Three approvals in a row, then three undos, most recent first.
  const b = await cardId();
  const bTitle = await title();
  await page.keyboard.press("a");
  await waitCount(2);
  const c = await cardId();
  const cTitle = await title();
  await page.keyboard.press("a");
  await waitCount(1);
  check((await page.textContent("[data-undo]")).trim() === "Undo (3)", "the toast counts what can be undone");
  check((await page.getAttribute("[data-undo]", "aria-label")).includes(cTitle), "undo names the card it takes back");
  await page.keyboard.press("u");
  await waitCount(2);
  check((await page.textContent("[data-toast-text]")).includes(cTitle), "the toast says which card came back");
  check((await page.getAttribute("[data-undo]", "aria-label")).includes(bTitle), "the next undo is the one before");
  await page.keyboard.press("u");
  await waitCount(3);
  await page.click("[data-undo]");
  await waitCount(4);
  check((await page.textContent("[data-toast-text]")).includes(aTitle), "the first approval came back last");
  check(await page.locator("[data-undo]").isHidden(), "nothing is left to undo");
  check((await cardId()) === a, "the card taken back is in front");
  seen.undone = [a, b, c];

  // c picks the channels: the outbox alone.
  await page.keyboard.press("j");
  check((await cardId()) === b, "j moves to the next card");
  const linkCard = (await card().locator("details.sends.x .link-card").textContent()).trim();
  check(/^Commit [0-9a-f]{7} · Codertocat\/Hello-World/.test(linkCard) && linkCard.endsWith("github.com"), `an X post's link card says what the link is (${linkCard})`);
  await page.keyboard.press("c");
  check(await card().locator("[data-pick]").evaluate((d) => d.open), "c opens the channel picker");
  check(await card().locator("[data-channel-box]").first().evaluate((el) => el === document.activeElement), "and focuses it");
  await card().locator("[data-channel-box]").nth(1).uncheck();
  check((await card().locator("[data-picked]").textContent()).includes("Team outbox"), "the picker says where it goes");
  await page.keyboard.press("a");
  await waitCount(3);
  seen.picked = b;
  seen.pending = c;

  // The red card: approve is off and looks it; an edit does not make it safe.
  for (let i = 0; i < 4 && !(await card().locator(".light.red").count()); i++) await page.keyboard.press("j");
  check((await card().locator(".light.red").count()) === 1, "the red card is found");
  const red = await cardId();
  seen.red = red;
  const approveButton = card().locator('form[data-action="approve"] button');
  check(await approveButton.isDisabled(), "a red card cannot be approved");
  const look = await approveButton.evaluate((el) => { const s = getComputedStyle(el); return { bg: s.backgroundColor, border: s.borderStyle }; });
  check(look.border === "dashed" && look.bg === "rgba(0, 0, 0, 0)", `disabled looks disabled (${JSON.stringify(look)})`);
  await page.screenshot({ path: `${SHOTS}/red-desktop.png`, fullPage: true });
  await page.keyboard.press("e");
  await page.waitForURL(`${BASE}/cards/${red}/edit`);
  await page.fill('textarea[data-channel="x"]', "JSON export is here.");
  await page.keyboard.press("Control+Enter");
  await page.waitForSelector(".panel [data-answer]");
  const answer = await page.textContent(".panel [data-answer]");
  check(answer.includes("red"), `the refusal is told beside the buttons (${answer})`);
  check(!answer.includes("risk_reasons"), "in words, not field names");
  check((await page.textContent(".reasons")).includes("commit text contained a secret"), "still red for the leak after the edit");
  await page.click("button[data-rotated]");
  await page.waitForURL(/done=rotated/);
  const after = page.locator(`[data-card][data-id="${red}"]`);
  check((await after.locator(".light.red").count()) === 0, "confirmed rotated, the card is no longer red");

  // The editor from the keyboard: the first box has the focus, boxes grow, Tab goes from
  // box to box, refine is not offered without AI, Ctrl+Enter saves and approves.
  await page.goto(`${BASE}/cards/${a}/edit`);
  const focused = await page.evaluate(() => document.activeElement?.dataset?.channel || document.activeElement?.tagName);
  check(focused === "linkedin", `the first text box has the focus on open (${focused})`);
  const box = page.locator('textarea[data-channel="linkedin"]');
  const fits = await box.evaluate((el) => el.scrollHeight <= el.clientHeight + 2);
  check(fits, "a box is as tall as its text");
  const before = await box.evaluate((el) => el.clientHeight);
  await page.keyboard.press("End");
  for (let i = 0; i < 8; i++) await page.keyboard.press("Enter");
  await page.keyboard.type("More to say.");
  const grown = await box.evaluate((el) => el.clientHeight);
  check(grown > before, `the box grows with its text (${before} → ${grown})`);
  await page.keyboard.press("Tab");
  const next = await page.evaluate(() => document.activeElement?.dataset?.channel);
  check(next === "x", `Tab goes to the next channel's text (${next})`);
  // The previews show what each platform shows: Slack's bold, LinkedIn's fold.
  await page.fill('textarea[data-channel="slack"]', "*Faster* builds are out: https://example.com/notes");
  const slackPreview = page.locator('[data-channel-edit]:has(textarea[data-channel="slack"]) [data-preview-body]');
  check((await slackPreview.locator("strong").textContent()) === "Faster", "Slack's *bold* is bold in its preview");
  check((await slackPreview.locator("a").getAttribute("href")) === "https://example.com/notes", "its link is a link");
  await page.fill('textarea[data-channel="bluesky"]', "Out now: https://github.com/acme/rocket/releases/tag/v2.0.0");
  const bskyCard = await page.textContent('[data-channel-edit]:has(textarea[data-channel="bluesky"]) [data-preview-body] .link-card strong');
  check(bskyCard.trim() === "Release v2.0.0 · acme/rocket", `the live preview's link card too (${bskyCard})`);
  await page.fill('textarea[data-channel="linkedin"]', `${"Builds are faster now. ".repeat(14)}More to say.`);
  const fold = page.locator('[data-channel-edit]:has(textarea[data-channel="linkedin"]) [data-preview-body] details.fold');
  check((await fold.count()) === 1 && (await fold.locator("summary").textContent()) === "…see more", "a long LinkedIn post folds");
  const json = JSON.parse(await page.textContent('details[data-json="outbox"] pre'));
  check(json.card_id === a && typeof json.text === "string" && json.text.includes("cache"), `the outbox's JSON line is shown (${JSON.stringify(json).slice(0, 80)})`);
  check((await page.locator("form[data-refine]").count()) === 0, "refine with AI is not offered with AI off");
  check((await page.textContent("main")).includes("Refine with AI is not available"), "and the page says why");
  await page.keyboard.press("Control+Enter");
  await page.waitForSelector(".panel [data-answer]");
  check((await page.textContent(".panel [data-answer]")).includes("thread"), "the editor holds the over-long X text too");
  await page.locator("[data-as-thread]").check();
  await page.keyboard.press("Control+Enter");
  await page.waitForURL(/done=approved/);
  seen.threaded = a;
  // Escape goes back to the stack.
  await page.goto(`${BASE}/cards/${c}/edit`);
  await page.keyboard.press("Escape");
  await page.waitForURL(`${BASE}/`);

  // Posting slots: the outbox posts at two times a day; an approval from the stack takes
  // the next free one, the queue shows it, and "pull back" returns it to the stack.
  await page.goto(`${BASE}/channels`);
  const outboxRow = page.locator("[data-channel-row]", { hasText: "Team outbox" });
  await outboxRow.locator('input[name="slots"]').fill("daily 09:00, 21:00");
  await outboxRow.locator("[data-slots] button").click();
  check((await page.textContent("[role=status]")).includes("posts at daily 09:00, 21:00"), "the slots are saved");
  await page.goto(`${BASE}/`);
  for (let i = 0; i < 4 && (await cardId()) !== c; i++) await page.keyboard.press("j");
  check((await cardId()) === c, "the card left pending is found");
  await page.keyboard.press("c");
  await card().locator("[data-channel-box]").nth(1).uncheck();
  await page.keyboard.press("a");
  await page.waitForSelector("[data-toast]:not([hidden])");
  const queuedToast = await page.textContent("[data-toast-text]");
  await page.keyboard.press("j");
  check(/next free slot: .*(09|21):00/.test(await card().locator("details.sends.outbox [data-when]").textContent()), "each card says when the slotted channel would post it");
  check((await card().locator("details.sends.x [data-when]").textContent()).includes("a few seconds"), "and when a channel without slots would");
  check(queuedToast.includes("queued for") && /(09|21):00/.test(queuedToast), `the toast says which slot it took (${queuedToast})`);
  await page.click('nav a[href="/queue"]');
  const row = page.locator("[data-queued]", { hasText: cTitle });
  check((await row.count()) === 1, "the queue lists it");
  check(/\d/.test(await row.locator("time").textContent()), "with its time");
  await row.locator('form[action$="/pull"] button').click();
  check((await page.textContent("[role=status]")).includes("back in the stack"), "pulled back");
  check((await page.locator("[data-queued]", { hasText: cTitle }).count()) === 0, "it left the queue");

  // The phone: no page is wider than the screen; on the stack the buttons are in reach
  // and the toast covers none of them.
  await page.setViewportSize({ width: 390, height: 844 });
  const wide = {};
  for (const path of ["/", "/queue", "/sources", "/channels", "/settings", "/analytics", "/history", "/audit", `/cards/${c}/edit`]) {
    await page.goto(`${BASE}${path}`);
    const over = await page.evaluate(() => {
      const width = document.documentElement.clientWidth;
      if (document.documentElement.scrollWidth <= width) return null;
      const all = Array.from(document.querySelectorAll("body *"));
      const wider = all.filter((el) => el.getBoundingClientRect().right > width + 1);
      const spilling = all.filter((el) => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === "visible");
      return [`page ${document.documentElement.scrollWidth}px`, ...wider.concat(spilling).slice(0, 4)
        .map((el) => `${el.tagName.toLowerCase()}.${el.className} ${Math.round(el.getBoundingClientRect().right)}px/${el.scrollWidth}px`)];
    });
    if (over) wide[path] = over;
    if (path === `/cards/${c}/edit`) await page.screenshot({ path: `${SHOTS}/editor-phone.png`, fullPage: true });
    if (path === "/queue" || path === "/channels") await page.screenshot({ path: `${SHOTS}${path}-phone.png`, fullPage: true });
  }
  check(Object.keys(wide).length === 0, `no page overflows 390 px: ${JSON.stringify(wide)}`);
  await page.goto(`${BASE}/`);
  const reach = await card().locator('form[data-action="approve"] button').evaluate((el) => el.getBoundingClientRect().bottom);
  check(reach <= 844, `Approve is on screen without scrolling (${reach}px)`);
  await page.keyboard.press("u");
  await page.waitForSelector("[data-toast]:not([hidden])");
  const covered = await page.evaluate(() => {
    const t = document.querySelector("[data-toast]").getBoundingClientRect();
    return Array.from(document.querySelectorAll("button, a.button"))
      .filter((b) => b.offsetParent && !b.closest("[data-toast]"))
      .map((b) => b.getBoundingClientRect())
      .filter((r) => r.right > t.left && r.left < t.right && r.bottom > t.top && r.top < t.bottom).length;
  });
  check(covered === 0, `the toast covers no button (${covered})`);
  await page.screenshot({ path: `${SHOTS}/stack-phone.png`, fullPage: true });

  // Boundaries of fields and buttons stand out from what is around them (WCAG 1.4.11:
  // 3:1), and moments read as words, not ISO strings.
  await page.setViewportSize({ width: 1280, height: 860 });
  const edges = () => page.evaluate(() => {
    const lum = (rgb) => {
      const [r, g, b] = rgb.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number).map((v) => v / 255)
        .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
    const backdrop = (el) => {
      for (let p = el.parentElement; p; p = p.parentElement) {
        const bg = getComputedStyle(p).backgroundColor;
        if (bg && !bg.endsWith(", 0)") && bg !== "transparent") return bg;
      }
      return "rgb(11, 12, 16)";
    };
    return Array.from(document.querySelectorAll("input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, button:not(.link)"))
      .filter((el) => el.offsetParent)
      .map((el) => ({ el: `${el.tagName.toLowerCase()}#${el.id}`, r: ratio(getComputedStyle(el).borderTopColor, backdrop(el)) }))
      .filter((x) => x.r < 3);
  });
  for (const path of ["/", "/channels", "/settings"]) {
    await page.goto(`${BASE}${path}`);
    const weak = await edges();
    check(weak.length === 0, `every control's edge on ${path} is 3:1 against its backdrop: ${JSON.stringify(weak.slice(0, 4))}`);
  }
  // Text nodes, not elements: a date inside a sentence counts too (a field's value does not).
  const iso = await page.evaluate(() => {
    const walker = document.createTreeWalker(document.querySelector("main"), NodeFilter.SHOW_TEXT);
    const found = [];
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (/\d{4}-\d\d-\d\dT\d\d:\d\d/.test(n.textContent)) found.push(n.textContent.trim());
    }
    return found.slice(0, 3);
  });
  check(iso.length === 0, `no raw ISO timestamps on Settings: ${JSON.stringify(iso)}`);

  check(cspViolations.length === 0, `no Content-Security-Policy violations (${cspViolations.join("; ")})`);
  await context.close();

  // Without the script, moments still read as dates.
  const plain = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 390, height: 844 } });
  const p2 = await plain.newPage();
  await p2.goto(`${BASE}/login`);
  await p2.fill("#email", env("EMAIL"));
  await p2.fill("#password", env("PASSWORD"));
  await p2.click("button[type=submit]");
  await p2.waitForURL(`${BASE}/`);
  for (const path of ["/settings", "/history", "/queue"]) {
    await p2.goto(`${BASE}${path}`);
    const raw = await p2.evaluate(() => {
      const walker = document.createTreeWalker(document.querySelector("main"), NodeFilter.SHOW_TEXT);
      const found = [];
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        if (/\d{4}-\d\d-\d\dT\d\d:\d\d/.test(n.textContent)) found.push(n.textContent.trim());
      }
      return found;
    });
    check(raw.length === 0, `no raw ISO timestamps on ${path} without the script: ${JSON.stringify(raw.slice(0, 3))}`);
  }
  await plain.close();

  // Signed out, the sign-in and sign-up pages fit the phone too.
  const out = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const anon = await out.newPage();
  for (const path of ["/login", "/signup"]) {
    await anon.goto(`${BASE}${path}`);
    const w = await anon.evaluate(() => document.documentElement.scrollWidth);
    check(w <= 390, `${path} fits 390 px (${w})`);
  }
  await out.close();
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
