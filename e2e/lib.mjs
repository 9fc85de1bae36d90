// What the browser stories share: their environment, a check that says what was
// expected, Debian's Chromium, and a page that fails the story on a script error and
// collects Content-Security-Policy violations.
import { chromium } from "playwright-core";

export const env = (k, d) => process.env[k] ?? d ?? (() => { throw new Error(`${k} is not set`); })();

export function check(cond, what) {
  if (!cond) throw new Error(`expected: ${what}`);
}

export const launch = () => chromium.launch({
  executablePath: env("CHROMIUM", "/usr/bin/chromium"),
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
});

/** A desktop page (1280×860) whose script errors end the story; CSP reports go to `violations`. */
export async function watchedPage(browser, violations) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
  page.on("pageerror", (e) => { throw new Error(`script error on the page: ${e.message}`); });
  return { context, page };
}
