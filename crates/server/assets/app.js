// Covalynce: small enhancements over server-rendered forms. Every action works without
// this file; with it, the stack answers keys and swipes, updates live and offers undo.
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="csrf"]')?.content || "";
  const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  // ---- Length as each platform counts it (mirrors crates/drafting/src/length.rs) ----
  const LINK = /https?:\/\/\S*/g;
  const LINK_LENGTH = 23;
  const segmenter = typeof Intl !== "undefined" && Intl.Segmenter
    ? new Intl.Segmenter(undefined, { granularity: "grapheme" }) : null;
  const graphemes = (s) => segmenter ? Array.from(segmenter.segment(s), (g) => g.segment) : Array.from(s);
  const light = (cp) => cp <= 4351 || (cp >= 8192 && cp <= 8205) || (cp >= 8208 && cp <= 8223) || (cp >= 8242 && cp <= 8247);
  function withLinks(text, count) {
    let total = 0, last = 0;
    for (const m of text.matchAll(LINK)) {
      total += count(text.slice(last, m.index)) + LINK_LENGTH;
      last = m.index + m[0].length;
    }
    return total + count(text.slice(last));
  }
  const codePoints = (s) => Array.from(s).length;
  const xWeight = (s) => graphemes(s).reduce((n, g) => {
    const cps = Array.from(g, (c) => c.codePointAt(0));
    if (cps.length === 1) return n + (light(cps[0]) ? 1 : 2);
    return n + (cps.every(light) ? cps.length : 2);
  }, 0);
  const COUNTERS = {
    x: (t) => withLinks(t, xWeight),
    bluesky: (t) => graphemes(t).length,
    mastodon: (t) => withLinks(t, codePoints),
  };
  const platformLength = (channel, text) => (COUNTERS[channel] || codePoints)(text);

  // ---- Posting forms with fetch ----
  async function post(url, data) {
    const body = new URLSearchParams(data || {});
    body.set("_csrf", csrf);
    const res = await fetch(url, {
      method: "POST",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf },
      body,
      credentials: "same-origin",
    });
    let json = {};
    try { json = await res.json(); } catch (_) { /* an HTML error page */ }
    if (!res.ok) throw new Error(json.detail || json.message || `the server answered ${res.status}`);
    return json;
  }

  function notify(message, isError) {
    const box = document.querySelector("[data-flash]");
    if (!box) return;
    box.hidden = false;
    box.classList.toggle("error", !!isError);
    box.querySelector("[data-flash-text]").textContent = message;
  }
  // A notice belongs to the action that made it: the next action clears it.
  function clearNotice() {
    const box = document.querySelector("[data-flash]");
    if (box) box.hidden = true;
  }

  // ---- The stack ----
  const stack = document.querySelector("[data-stack]");
  if (stack) {
    const countEl = document.querySelector("[data-count]");
    const emptyEl = document.querySelector("[data-empty]");
    const toast = document.querySelector("[data-toast]");
    const help = document.querySelector("[data-help]");
    let index = 0;
    let toastTimer = null;
    // Every action that can still be taken back, oldest first: { url, title, verb, until }.
    // `u` and the toast's button take back the most recent; each leaves when its window
    // (the server's, less the trip) closes, so nothing is offered that has gone out.
    let undos = [];

    const cards = () => Array.from(stack.querySelectorAll("[data-card]"));
    // Pending cards not rendered yet (the page carries a few; the rest come as needed).
    const queue = (stack.dataset.more || "").split(" ").filter(Boolean);
    const known = (id) => queue.includes(id) || stack.querySelector(`[data-card][data-id="${CSS.escape(id)}"]`);
    function show(i) {
      const all = cards();
      index = Math.max(0, Math.min(i, all.length - 1));
      all.forEach((c, k) => { c.hidden = k !== index; });
      const total = all.length + queue.length;
      if (countEl) countEl.textContent = String(total);
      if (emptyEl) emptyEl.hidden = total > 0;
      const current = all[index];
      if (current) current.setAttribute("aria-current", "true");
      document.title = total ? `(${total}) Review · Covalynce` : "Review · Covalynce";
      refill();
    }
    let filling = false;
    async function refill() {
      if (filling) return;
      filling = true;
      try {
        while (queue.length && cards().length - index < 4) {
          const id = queue[0];
          const res = await fetch(`/cards/${encodeURIComponent(id)}/fragment`, { credentials: "same-origin" });
          queue.shift();
          if (!res.ok) continue; // approved or dismissed elsewhere meanwhile
          const tpl = document.createElement("template");
          tpl.innerHTML = (await res.text()).trim();
          const card = tpl.content.firstElementChild;
          if (!card || stack.querySelector(`[data-card][data-id="${CSS.escape(id)}"]`)) continue;
          card.hidden = true;
          stack.append(card);
          wire(card);
        }
      } catch (_) { /* the next action or a reload tries again */ }
      filling = false;
      const all = cards();
      all.forEach((c, k) => { c.hidden = k !== index; });
      const total = all.length + queue.length;
      if (countEl) countEl.textContent = String(total);
      if (emptyEl) emptyEl.hidden = total > 0;
    }
    const current = () => cards()[index];

    const live = () => { const now = performance.now(); undos = undos.filter((u) => u.until > now); return undos; };
    // The toast names the last action and what `u` would take back; it stays while
    // anything can be undone, and for a few seconds after a plain message.
    function showToast(text) {
      if (!toast) return;
      const open = live();
      const next = open[open.length - 1];
      toast.querySelector("[data-toast-text]").textContent = text;
      const button = toast.querySelector("[data-undo]");
      button.hidden = !next;
      if (next) {
        button.textContent = open.length > 1 ? `Undo (${open.length})` : "Undo";
        button.setAttribute("aria-label", `Undo: ${next.verb} “${next.title}”`);
      }
      toast.hidden = false;
      clearTimeout(toastTimer);
      const wait = next ? Math.min(...open.map((u) => u.until)) - performance.now() : 6000;
      toastTimer = setTimeout(() => {
        if (live().length) showToast(describe(undos[undos.length - 1]));
        else toast.hidden = true;
      }, Math.max(50, wait));
    }
    const describe = (u) => `${u.verb === "approved" ? "Approved" : "Dismissed"}: ${u.title}${u.when ? ` (${u.when})` : ""}`;

    // Cards acted on here: a stream reconnecting with an older snapshot must not re-add them.
    const handled = new Set();
    async function act(card, action) {
      if (!card || card.dataset.busy) return;
      const form = card.querySelector(`form[data-action="${action}"]`);
      if (!form) return;
      clearNotice();
      const cardError = card.querySelector("[data-card-error]");
      if (cardError) cardError.hidden = true;
      card.dataset.busy = "1";
      const direction = action === "approve" ? 1 : -1;
      if (!reduceMotion) {
        card.classList.remove("dragging", "settle");
        card.classList.add("gone");
        card.style.transform = `translateX(${direction * (window.innerWidth + 200)}px) rotate(${direction * 18}deg)`;
      }
      try {
        const answer = await post(form.action, Object.fromEntries(new FormData(form)));
        const title = card.querySelector("h2")?.textContent || "card";
        const verb = action === "approve" ? "approved" : "dismissed";
        // "Approved: queued for Mon 7 Dec, 09:00." names the slot it took.
        const when = /queued for ([^.]*)/.exec(answer.message || "")?.[1];
        const queued = when ? `queued for ${when}` : "";
        if (answer.undo && answer.undo_ms > 0) {
          undos.push({ url: answer.undo, title, verb, when: queued, until: performance.now() + answer.undo_ms });
        }
        const done = () => {
          handled.add(card.dataset.id);
          card.remove();
          show(index);
          showToast(describe({ verb, title, when: queued }));
        };
        if (reduceMotion) done(); else setTimeout(done, 260);
      } catch (e) {
        delete card.dataset.busy;
        card.classList.remove("gone");
        card.style.transform = "";
        // The answer appears on the card the person acted on.
        if (cardError) { cardError.textContent = e.message; cardError.hidden = false; } else notify(e.message, true);
      }
    }

    async function undo() {
      const entry = live().pop();
      if (!entry) {
        if (toast && undos.length === 0) showToast("Nothing left to undo.");
        return;
      }
      clearNotice();
      try {
        const answer = await post(entry.url);
        if (answer.fragment) {
          const tpl = document.createElement("template");
          tpl.innerHTML = answer.fragment.trim();
          const card = tpl.content.firstElementChild;
          if (card) {
            handled.delete(card.dataset.id);
            stack.querySelector(`[data-card][data-id="${CSS.escape(card.dataset.id)}"]`)?.remove();
            stack.prepend(card); wire(card); show(0);
          }
        }
        showToast(answer.message || `Undone: ${entry.title}`);
      } catch (e) { showToast(`Could not undo “${entry.title}”: ${e.message}`); }
    }
    toast?.querySelector("[data-undo]")?.addEventListener("click", undo);

    // Swipe: drag the card; past a third of its width it goes, else it springs back.
    function wire(card) {
      card.querySelectorAll("form[data-action]").forEach((form) => {
        form.addEventListener("submit", (ev) => { ev.preventDefault(); act(card, form.dataset.action); });
      });
      // The picker's summary says where "approve" sends the card.
      const boxes = Array.from(card.querySelectorAll("[data-channel-box]"));
      const picked = card.querySelector("[data-picked]");
      boxes.forEach((box) => box.addEventListener("change", () => {
        const on = boxes.filter((b) => b.checked);
        const all = boxes.length === 2 ? "both channels" : `all ${boxes.length} channels`;
        if (picked) picked.textContent = on.length === boxes.length && boxes.length > 1 ? all
          : on.length ? on.map((b) => b.parentElement.textContent.trim()).join(", ") : "no channel";
      }));
      // dx: how far the card is dragged; v: its speed (px/ms) over the last moves, so a
      // quick flick throws the card even before it crosses the distance threshold.
      let startX = 0, startY = 0, dx = 0, v = 0, lastX = 0, lastT = 0, dragging = false, pointer = null;
      card.addEventListener("pointerdown", (ev) => {
        if (ev.button !== 0 || ev.target.closest("button, a, input, textarea, label, summary")) return;
        pointer = ev.pointerId; startX = ev.clientX; startY = ev.clientY; dx = 0; v = 0; dragging = false;
        lastX = ev.clientX; lastT = ev.timeStamp;
      });
      card.addEventListener("pointermove", (ev) => {
        if (ev.pointerId !== pointer) return;
        const mx = ev.clientX - startX, my = ev.clientY - startY;
        if (!dragging && Math.abs(mx) > 8 && Math.abs(mx) > Math.abs(my)) {
          dragging = true; card.setPointerCapture(pointer); card.classList.add("dragging");
        }
        if (!dragging) return;
        dx = mx;
        const dt = ev.timeStamp - lastT;
        if (dt > 0) v = 0.7 * ((ev.clientX - lastX) / dt) + 0.3 * v;
        lastX = ev.clientX; lastT = ev.timeStamp;
        card.style.transform = `translateX(${dx}px) rotate(${dx / 24}deg)`;
        card.dataset.lean = dx > 0 ? "approve" : "dismiss";
      });
      const end = (ev) => {
        if (ev.pointerId !== pointer) return;
        pointer = null;
        if (!dragging) return;
        dragging = false;
        card.classList.remove("dragging");
        const threshold = Math.min(160, card.offsetWidth / 3);
        const flick = Math.abs(v) > 0.8 && Math.abs(dx) > 40 && Math.sign(v) === Math.sign(dx);
        if (dx > threshold || (flick && dx > 0)) act(card, "approve");
        else if (dx < -threshold || (flick && dx < 0)) act(card, "dismiss");
        else {
          card.classList.add("settle");
          card.style.transform = "";
          setTimeout(() => card.classList.remove("settle"), 300);
        }
        delete card.dataset.lean;
      };
      card.addEventListener("pointerup", end);
      card.addEventListener("pointercancel", end);
    }
    cards().forEach(wire);
    show(0);

    // Without script these links reload the stack from another card; with it they move.
    document.querySelector("[data-next]")?.addEventListener("click", (ev) => { ev.preventDefault(); show(index + 1); });
    document.querySelector("[data-prev]")?.addEventListener("click", (ev) => { ev.preventDefault(); show(index - 1); });

    document.addEventListener("keydown", (ev) => {
      if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
      // Keys type into fields; a ticked channel box still lets `a` approve.
      if (ev.target.closest && ev.target.closest("input:not([type=checkbox]), textarea, select, [contenteditable]")) return;
      const card = current();
      switch (ev.key) {
        case "a": act(card, "approve"); break;
        case "d": act(card, "dismiss"); break;
        case "e": { const link = card?.querySelector("a[data-edit]"); if (link) location.href = link.href; break; }
        case "j": show(index + 1); break;
        case "k": show(index - 1); break;
        case "u": undo(); break;
        case "c": {
          // Pick the channels: open the card's picker and put the focus on its first box.
          const pick = card?.querySelector("[data-pick]");
          if (pick) { pick.open = true; pick.querySelector("input")?.focus(); }
          break;
        }
        case "?": if (help?.showModal) { help.open ? help.close() : help.showModal(); } break;
        default: return;
      }
      ev.preventDefault();
    });

    // Live: a card drafted while the page is open joins the stack.
    if (window.EventSource && stack.dataset.stream) {
      const source = new EventSource(stack.dataset.stream);
      // The stream names every pending card on connect, then each new one.
      source.addEventListener("card", (ev) => {
        const id = ev.data;
        if (known(id) || handled.has(id)) return;
        queue.push(id);
        show(index);
      });
    }
  }

  // ---- The editor: counters and previews as the platform shows them ----
  const THREADS = new Set(["x", "bluesky", "mastodon"]);
  const threadPosts = (text) => {
    const posts = [];
    let current = [];
    const flush = () => {
      const post = current.join("\n").trim();
      if (post) posts.push(post);
      current = [];
    };
    for (const line of text.split("\n")) {
      if (line.trim() === "---") flush();
      else current.push(line);
    }
    flush();
    return posts.length ? posts : [""];
  };
  const FOLD = 210;
  // What a GitHub link's card says (mirrors link_title in crates/server/src/ui/sends.rs).
  function linkTitle(url) {
    if (url.host !== "github.com") return null;
    const [owner, name, kind, a, b] = url.pathname.split("/").filter(Boolean);
    if (!owner || !name) return null;
    const repo = `${owner}/${name}`;
    if (!kind) return repo;
    if (kind === "releases" && a === "tag" && b) return `Release ${b} · ${repo}`;
    if (kind === "commit" && a) return `Commit ${a.slice(0, 7)} · ${repo}`;
    if (kind === "compare" && a) return `Compare ${a} · ${repo}`;
    if (kind === "pull" && a) return `Pull request #${a} · ${repo}`;
    if (kind === "issues" && a) return `Issue #${a} · ${repo}`;
    return null;
  }
  const CARDS = new Set(["x", "bluesky", "mastodon"]);
  const MARKS = {
    slack: [["*", "strong"], ["_", "em"], ["~", "del"]],
    discord: [["**", "strong"], ["__", "u"], ["*", "em"], ["~~", "del"]],
  };
  // Text into `parent` with links as links and each (marker, tag) pair that wraps words as
  // that tag; markup is never read inside a link. DOM nodes only: nothing typed is HTML.
  function marked(parent, text, marks) {
    let last = 0;
    for (const m of text.matchAll(LINK)) {
      styled(parent, text.slice(last, m.index), marks);
      const link = m[0].replace(/[.,)!?;:]+$/, "");
      const a = document.createElement("a");
      a.textContent = link;
      a.href = link;
      a.tabIndex = -1; // Tab goes from text box to text box, not through the previews.
      a.rel = "noreferrer noopener";
      a.target = "_blank";
      parent.append(a);
      last = m.index + link.length;
    }
    styled(parent, text.slice(last), marks);
  }
  function styled(parent, text, marks) {
    let plain = "", i = 0;
    const flush = () => { if (plain) { parent.append(document.createTextNode(plain)); plain = ""; } };
    scan: while (i < text.length) {
      for (const [marker, tag] of marks) {
        if (!text.startsWith(marker, i)) continue;
        const start = i + marker.length;
        const before = i > 0 ? text[i - 1] : "";
        if (start >= text.length || /\s/.test(text[start]) || /[\p{L}\p{N}]/u.test(before)) continue;
        const end = text.indexOf(marker, start);
        // The closing marker on the same line (looked for between the two, not to the end).
        if (end <= start || text.slice(start, end).includes("\n") || /\s/.test(text[end - 1])) continue;
        const after = text[end + marker.length] || "";
        if (/[\p{L}\p{N}]/u.test(after)) continue;
        flush();
        const el = document.createElement(tag);
        el.textContent = text.slice(start, end);
        parent.append(el);
        i = end + marker.length;
        continue scan;
      }
      plain += text[i];
      i += 1;
    }
    flush();
  }
  document.querySelectorAll("textarea[data-channel]").forEach((area) => {
    const channel = area.dataset.channel;
    const limit = Number(area.dataset.limit);
    const box = area.closest("[data-channel-edit]");
    const counter = box?.querySelector("[data-counter]");
    const preview = box?.querySelector("[data-preview-body]");
    const update = () => {
      // On X, Bluesky and Mastodon a line of three dashes starts the next post of a thread
      // (crates/drafting/src/thread.rs): each post must fit, so the longest one is counted.
      const posts = THREADS.has(channel) ? threadPosts(area.value) : [area.value];
      const n = Math.max(0, ...posts.map((p) => platformLength(channel, p)));
      if (counter) {
        const shape = posts.length > 1 ? ` · thread of ${posts.length}` : "";
        counter.textContent = `${n} / ${limit}${shape}`;
        counter.classList.toggle("over", n > limit);
        const what = posts.length > 1 ? `the longest of ${posts.length} posts is ${n}` : `${n}`;
        counter.setAttribute("aria-label", `${what} of ${limit} characters as ${channel} counts them${n > limit ? ", over the limit" : ""}`);
      }
      if (preview) {
        // As the platform shows it (mirrors crates/server/src/ui/sends.rs): a thread post by
        // post, Slack and Discord markup rendered, LinkedIn's fold, a link card.
        preview.replaceChildren();
        posts.forEach((text, i) => {
          const block = document.createElement("div");
          block.className = posts.length > 1 ? "post in-thread" : "post";
          if (channel === "linkedin" && text.length > FOLD) {
            const cut = text.lastIndexOf(" ", FOLD) > 0 ? text.lastIndexOf(" ", FOLD) : FOLD;
            marked(block, text.slice(0, cut), []);
            const more = document.createElement("details");
            more.className = "fold";
            const summary = document.createElement("summary");
            summary.textContent = "…see more";
            more.append(summary);
            marked(more, text.slice(cut), []);
            block.append(more);
          } else {
            marked(block, text, MARKS[channel] || []);
          }
          const links = CARDS.has(channel) ? text.match(LINK) : null;
          if (links) {
            const card = document.createElement("span");
            card.className = "link-card";
            const host = document.createElement("span");
            host.className = "muted";
            try {
              const url = new URL(links[links.length - 1].replace(/[.,)!?;:]+$/, ""));
              host.textContent = url.host.replace(/^www\./, "");
              const title = linkTitle(url);
              if (title) { const t = document.createElement("strong"); t.textContent = `${title} `; card.append(t); }
            } catch (_) { host.textContent = links[links.length - 1]; }
            card.append(host);
            block.append(card);
          }
          if (i > 0) block.setAttribute("aria-label", `post ${i + 1} of ${posts.length}`);
          preview.append(block);
        });
      }
    };
    area.addEventListener("input", update);
    update();
  });

  // ---- The editor from the keyboard: boxes grow with their text, Ctrl/Cmd+Enter saves
  // and approves (saves when no channel is connected), Escape goes back to the stack.
  const grow = (area) => { area.style.height = "auto"; area.style.height = `${area.scrollHeight + 2}px`; };
  document.querySelectorAll("textarea[data-grow]").forEach((area) => {
    grow(area);
    area.addEventListener("input", () => grow(area));
  });
  const editor = document.querySelector("form.editor");
  // Typing a time picks "at".
  document.querySelector("#publish_at")?.addEventListener("input", () => {
    const at = document.querySelector("[data-when-at]");
    if (at) at.checked = true;
  });
  if (editor) {
    const focused = document.querySelector("textarea[autofocus]");
    if (focused) {
      focused.focus();
      focused.setSelectionRange(focused.value.length, focused.value.length);
    }
    let dirty = false;
    // Typed texts, and an instruction typed for the AI, are worth a question before leaving.
    document.addEventListener("input", (ev) => { if (ev.target.closest("form.editor, form[data-refine]")) dirty = true; });
    editor.addEventListener("submit", () => { dirty = false; });
    document.addEventListener("keydown", (ev) => {
      if (ev.isComposing) return; // a key that belongs to an input method
      // Ctrl/Cmd+Enter approves from the editor's own fields only: in the refine box it
      // would approve a card the person is still asking the AI to change.
      const inEditor = ev.target === document.body || ev.target.closest?.("form.editor");
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && inEditor) {
        const button = editor.querySelector("button[data-approve]") || editor.querySelector('button[name=intent][value=save]');
        if (button) { ev.preventDefault(); editor.requestSubmit(button); }
      } else if (ev.key === "Escape" && !ev.defaultPrevented && !document.querySelector("dialog[open]")) {
        const back = document.querySelector("a[data-back]");
        if (!back) return;
        if (dirty && !window.confirm("Leave without saving your changes?")) return;
        ev.preventDefault();
        location.href = back.href;
      }
    });
  }

  // ---- Refine with AI: the answer streams into the editor as it is written ----
  const refine = document.querySelector("form[data-refine]");
  if (refine && window.ReadableStream && window.TextDecoder) {
    refine.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const button = refine.querySelector("button[type=submit]");
      const status = refine.querySelector("[data-refine-status]");
      // The answer appears beside the button the person pressed.
      const say = (text, isError) => {
        if (!status) return;
        status.textContent = text;
        status.classList.toggle("refusal", !!isError);
        status.setAttribute("role", isError ? "alert" : "status");
      };
      const area = (channel) => document.querySelector(`textarea[data-channel="${CSS.escape(channel)}"]`);
      const original = new Map(Array.from(document.querySelectorAll("textarea[data-channel]"), (a) => [a, a.value]));
      const restore = () => original.forEach((text, a) => { a.value = text; a.dispatchEvent(new Event("input")); });
      button.disabled = true;
      say("Asking the AI…");
      let finished = false;
      const handle = (name, data) => {
        if (name === "trying") {
          const a = area(data.channel);
          if (a) { a.value = ""; a.dispatchEvent(new Event("input")); }
          say(`Writing ${data.channel} with ${data.provider}/${data.model}…`);
        } else if (name === "text") {
          const a = area(data.channel);
          if (a) { a.value += data.text; a.dispatchEvent(new Event("input")); }
        } else if (name === "dropped") {
          const a = area(data.channel);
          if (a) { a.value = original.get(a) ?? ""; a.dispatchEvent(new Event("input")); }
          say(`Not used for ${data.channel}: ${data.why}`);
        } else if (name === "done") {
          finished = true;
          location.href = data.url;
        } else if (name === "failed") {
          finished = true;
          restore();
          say(data.message, true);
        }
      };
      try {
        const res = await fetch(`${refine.action}/stream`, {
          method: "POST",
          headers: { "Accept": "text/event-stream" },
          body: new URLSearchParams(new FormData(refine)),
          credentials: "same-origin",
        });
        if (!res.ok || !res.body) throw new Error(`the server answered ${res.status}`);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            let name = "message", data = "";
            for (const line of block.split("\n")) {
              if (line.startsWith("event:")) name = line.slice(6).trim();
              else if (line.startsWith("data:")) data += line.slice(5).replace(/^ /, "");
            }
            if (data) handle(name, JSON.parse(data));
          }
        }
        if (!finished) throw new Error("the connection closed before the answer was complete");
      } catch (e) {
        restore();
        say(`Refine failed: ${e.message}`, true);
      } finally {
        button.disabled = false;
      }
    });
  }

  // On a phone a table shows one block per row: each cell says which column it is.
  for (const table of document.querySelectorAll("table")) {
    const heads = Array.from(table.querySelectorAll("thead th"), (th) => th.textContent.trim());
    for (const row of table.querySelectorAll("tbody tr")) {
      Array.from(row.children).forEach((cell, i) => { if (heads[i]) cell.dataset.label = heads[i]; });
    }
  }

  // Moments: "2 h ago", with the exact time in the viewer's own zone on hover.
  const ago = (ms) => {
    const s = Math.round((Date.now() - ms) / 1000);
    if (s < 0) {
      // Ahead (the queue): "in 5 min", "in 3 h"; further ahead the date says more.
      const ahead = -s, m = Math.round(ahead / 60), h = Math.round(ahead / 3600);
      if (ahead < 60) return "in a few seconds";
      if (m < 60) return `in ${m} min`;
      if (h < 24) return `in ${h} h`;
      return null;
    }
    if (s < 45) return "just now";
    const m = Math.round(s / 60), h = Math.round(s / 3600), d = Math.round(s / 86400);
    if (m < 60) return `${m} min ago`;
    if (h < 24) return `${h} h ago`;
    if (d < 2) return "yesterday";
    if (d < 30) return `${d} days ago`;
    return null; // older: the date says more than "n days"
  };
  const relabel = (root) => {
    for (const t of root.querySelectorAll("time[datetime]")) {
      const ms = Date.parse(t.getAttribute("datetime"));
      if (Number.isNaN(ms)) continue;
      const exact = new Date(ms).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
      t.title = exact;
      const rel = ago(ms);
      t.textContent = rel || exact;
    }
  };
  relabel(document);
  new MutationObserver((changes) => changes.forEach((c) => c.addedNodes.forEach((n) => { if (n.querySelectorAll) relabel(n); })))
    .observe(document.body, { childList: true, subtree: true });

  // Analytics bars: a width from data-bar (0–100), set here because the policy allows no
  // inline style attributes.
  for (const bar of document.querySelectorAll("[data-bar]")) {
    bar.style.width = `${Math.max(0, Math.min(100, Number(bar.dataset.bar) || 0)) * 0.08}rem`;
  }

  window.covalynce = { platformLength };
})();
