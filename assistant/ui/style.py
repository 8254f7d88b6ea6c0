"""How the page looks: a theme with system fonts only (no font downloads) and the CSS of the rendered HTML."""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr


def theme() -> gr.themes.Base:
    """System fonts only: the page requests nothing beyond the server it came from. Text a shade darker than
    Gradio's default in light mode: its grey (slate 400, 2.6:1 on white) carried the cards' authors and years,
    and its blue (3.5:1) the [n] links and the Ask button; slate 500 and blue 600 pass WCAG AA (4.8:1, 5.2:1)."""
    return gr.themes.Default(
        primary_hue="blue",
        neutral_hue="slate",
        font=["system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Consolas", "monospace"],
    ).set(
        body_text_color_subdued="*neutral_500",
        body_text_color_subdued_dark="*neutral_400",
        input_placeholder_color="*neutral_500",
        input_placeholder_color_dark="*neutral_400",
        color_accent="*primary_600",
        button_primary_background_fill="*primary_600",
        button_primary_background_fill_hover="*primary_700",
        button_primary_background_fill_dark="*primary_600",
    )


# Theme variables (not fixed colours) so the cards follow Gradio's light and dark modes.
CSS = """
.aa-header h1 { margin-bottom: 0; }
.aa-header p { margin-top: 2px; color: var(--body-text-color-subdued); }
.aa-answer, .aa-abstain { line-height: 1.6; }
.aa-by-paper { margin: 0; padding-left: 1.2em; }
.aa-by-paper li { margin: 0.15em 0; }
.aa-tools { margin-top: 0.35em; font-size: 0.85em; }
.aa-tools a.aa-copy { color: var(--body-text-color-subdued); text-decoration: none; }
.aa-tools a.aa-copy:hover, .aa-tools a.aa-copy:focus { text-decoration: underline; }
.aa-copy-text { display: none; }
/* a model's sentence that cites nothing (render.md_flagged) */
.aa-uncited { text-decoration: underline dotted var(--body-text-color-subdued); text-underline-offset: 3px; }
/* a model's own layout (render.md_model) */
.aa-answer p.aa-para, .aa-answer p.aa-heading { margin: 0 0 0.5em; }
.aa-answer p.aa-heading { font-weight: 600; }
.aa-answer ul, .aa-answer ol { margin: 0 0 0.5em; padding-left: 1.4em; }
.aa-pending { color: var(--body-text-color-subdued); font-style: italic; }
a.aa-cite { font-weight: 600; text-decoration: none; padding: 0 1px; color: var(--color-accent) !important; }
.dark a.aa-cite, .dark .aa-n { color: var(--primary-400) !important; }  /* blue 600 is too dark on a dark page */
a.aa-cite:hover { text-decoration: underline; }
.aa-cite-old { color: var(--body-text-color-subdued); }
.aa-abstain { border-left: 4px solid #d97706; padding: 4px 10px; background: rgba(217, 119, 6, 0.08); }
.aa-abstain-label { font-size: 0.78em; font-weight: 600; color: #b45309; text-transform: uppercase;
  letter-spacing: .05em; margin-bottom: 2px; }
.aa-notice { font-size: 0.85em; color: #b45309; margin-top: 6px; }
#aa-status .aa-lost { color: var(--error-text-color, #b91c1c); margin: 0; }
#aa-status { min-height: 1.5em; color: var(--body-text-color-subdued); font-size: 0.9em; }
.aa-refused { color: var(--error-text-color, #b91c1c); font-weight: 600; }
#aa-sources-col { position: sticky; top: 8px; align-self: flex-start; }
#aa-sources { max-height: calc(100vh - 40px); overflow-y: auto !important; padding-right: 4px; }  /* Gradio sets .block visible */
.aa-sources { display: flex; flex-direction: column; gap: 10px; }
.aa-sources h3 { margin: 0; font-size: 0.95em; text-transform: uppercase; letter-spacing: .05em;
  color: var(--body-text-color-subdued); }
.aa-count { font-weight: 400; }
.aa-empty { color: var(--body-text-color-subdued); font-style: italic; }
.aa-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px;
  background: var(--background-fill-primary); color: var(--body-text-color); scroll-margin-top: 12px; }
.aa-card:has(:target) { border-color: var(--color-accent); box-shadow: 0 0 0 2px var(--color-accent-soft); }
.aa-card.aa-closest { border-style: dashed; }
.aa-card header { font-weight: 600; line-height: 1.35; margin-bottom: 2px; }
.aa-card header a, .aa-abstract-view h3 a { color: inherit; text-decoration: underline dotted; }
.aa-n { color: var(--color-accent); margin-right: 6px; }
.aa-meta { font-size: 0.8em; color: var(--body-text-color-subdued); margin-bottom: 6px; }
.aa-meta code { font-size: 0.95em; background: none; padding: 0; }
.aa-abstract { font-size: 0.88em; margin: 0 0 4px 0; line-height: 1.55; }
.aa-card mark { background: #fde68a; color: #111827; padding: 0 2px; border-radius: 2px; scroll-margin-top: 60px; }
.aa-card mark:target { background: #fbbf24; outline: 2px solid #d97706; }
.aa-quote { font-size: 0.9em; margin: 2px 0 6px 0; line-height: 1.55; }
.aa-full summary, .aa-card .aa-similar summary, .aa-card .aa-fold summary { cursor: pointer; font-size: 0.8em; color: var(--body-text-color-subdued); }
.aa-card .aa-similar ol { font-size: 0.82em; margin: 2px 0 0 0; padding-left: 1.4em; }
.aa-card mark.aa-in-abstract { background: #fef3c7; }
.aa-retrieved { font-size: 0.85em; color: var(--body-text-color-subdued); }
.aa-retrieved summary { cursor: pointer; }
.aa-retrieved ol { margin: 4px 0 0 0; padding-left: 1.4em; }
.aa-reading ol { margin: 4px 0 0 0; padding-left: 1.4em; font-size: 0.9em; }
.aa-reading li { margin-bottom: 4px; }
.aa-earlier-list { display: flex; flex-direction: column; gap: 6px; margin-top: 18px; padding-top: 10px;
  border-top: 1px solid var(--border-color-primary); }
.aa-earlier-list h3 { margin: 0; font-size: 0.85em; text-transform: uppercase; letter-spacing: .05em;
  color: var(--body-text-color-subdued); }
.aa-earlier > summary { cursor: pointer; font-size: 0.88em; color: var(--body-text-color-subdued); }
.aa-earlier[open] > summary { margin-bottom: 6px; }
.aa-abstract-view { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 12px 16px;
  background: var(--background-fill-primary); }
.aa-abstract-view h3 { margin: 0 0 4px 0; }
.aa-abstract-view .aa-abstract { font-size: 0.95em; max-width: 80ch; }
/* A phone: the Papers table keeps id and title (authors, year, link and sources are in the abstract view). */
.aa-back { display: none; }
@media (max-width: 800px) { .aa-back { display: inline; } }  /* where the sources stack under the chat */
/* Beside the chat, room below the last card: a quote near the end can scroll up to where the panel shows on screen
   (an earlier answer's quote could not, and the page scrolled instead, moving the answer: CITE_JS) */
@media (min-width: 801px) { .aa-sources { padding-bottom: 45vh; } }
@media (max-width: 640px) {
  /* the header is a table of its own: laid out by content, its two columns split the width evenly (161/163 px
     over body cells of 122/202 at 390 px); fixed, it takes the widths set below, as the body's rows do */
  #aa-papers table.header-table { table-layout: fixed; }
  #aa-papers th:nth-child(n+3), #aa-papers td:nth-child(n+3),
  #aa-papers .virtual-row > .body-cell:nth-of-type(n+3) { display: none; }
  #aa-papers th:nth-child(1), #aa-papers .virtual-row > .body-cell:nth-of-type(1) {
    width: 7.6rem !important; min-width: 7.6rem !important; max-width: 7.6rem !important; flex: 0 0 7.6rem !important; }
  #aa-papers th:nth-child(2), #aa-papers .virtual-row > .body-cell:nth-of-type(2) {
    width: calc(100% - 7.6rem) !important; min-width: 0 !important; max-width: none !important; flex: 1 1 auto !important; }
}
.aa-math .katex { font-size: 1.05em; }
"""


# Clicking [n] follows the link (so the card's :target highlight and the URL's #src-… work) but keeps the
# page where the reader is: only the sources panel scrolls to the quote. Without it the browser scrolled the
# whole page to the card and the answer left the screen (browser test at 1280x800). Where the panel is not
# on screen (a phone), the page scrolls to the quote instead (browser test at 390x844).
CITE_JS = """
  document.addEventListener("click", (event) => {
    const link = event.target.closest ? event.target.closest("a.aa-cite") : null;
    if (!link) return;
    const kept = [];  // every scrolled ancestor of the answer (Gradio's container scrolls, not the window)
    for (let el = link.parentElement; el; el = el.parentElement) kept.push([el, el.scrollTop]);
    const y = window.scrollY;
    const id = (link.getAttribute("href") || "").slice(1);
    const mark = document.getElementById(id), panel = document.getElementById("aa-sources");
    // An earlier answer's quote is folded under its question (render.render_panel): unfolded before the link is
    // followed, since Chromium unfolds a folded target itself and scrolls to it after this handler's frame
    for (let el = mark && mark.parentElement; el && el !== panel; el = el.parentElement) {
      if (el.tagName === "DETAILS") el.open = true;
    }
    requestAnimationFrame(() => {
      for (const [el, top] of kept) if (el.scrollTop !== top) el.scrollTop = top;
      window.scrollTo(0, y);
      if (mark && panel) {
        // The quote goes near the top of the part of the panel on screen: the panel may run past the window's
        // bottom (the column's heading above it), and a quote put there made the page scroll (by 340 px at
        // 1440x900, an earlier answer's [2]).
        const shown = panel.getBoundingClientRect();
        panel.scrollTop += mark.getBoundingClientRect().top - Math.max(shown.top, 0) - 60;
        // The panel itself off screen (a phone stacks it under the chat; a long page scrolled past it):
        // then the page moves to the quote, since keeping the answer in place would show nothing.
        const box = mark.getBoundingClientRect();
        if (box.top < 0 || box.bottom > window.innerHeight) mark.scrollIntoView({ block: "center" });
        // Followed from the keyboard (a click with no pointer), the focus goes to the quote: it fell to the page's
        // body, and Tab went on from the top of the page
        if (event.detail === 0) {
          if (!mark.hasAttribute("tabindex")) mark.setAttribute("tabindex", "-1");
          mark.focus({ preventScroll: true });
        }
      }
    });
  }, true);
  // A toast belongs to the tab that raised it: leaving the tab dismisses it (Gradio's toasts are page-wide),
  // and choosing files answers "Choose one or more files first": left up, it read as a complaint about them.
  const dismissToasts = () => { for (const close of document.querySelectorAll(".toast-close")) close.click(); };
  document.addEventListener("click", (event) => {
    if (event.target.closest && event.target.closest('[role="tab"]')) dismissToasts();
  }, true);
  for (const kind of ["change", "drop"]) document.addEventListener(kind, (event) => {
    if (kind === "change" ? event.target.type === "file" : event.dataTransfer && event.dataTransfer.files.length) dismissToasts();
  }, true);
"""


# A paper's title in a "Similar papers" or "retrieved papers" list (render.open_link) opens it in the Papers
# tab: the tab is selected, then its id box filled and submitted as a reader would (Enter), so the abstract
# and its own similar papers come from the same handler as a typed id.
OPEN_JS = """
  // The page's in-page links: a click on `selector` runs `act` with the link instead of following "#".
  const onLink = (selector, act) => document.addEventListener("click", (event) => {
    const link = event.target.closest ? event.target.closest(selector) : null;
    if (!link) return;
    event.preventDefault();
    act(link);
  }, true);
  onLink("a.aa-open", (link) => {
    const tab = [...document.querySelectorAll('[role="tab"]')].find((t) => t.textContent.trim() === "Papers");
    if (tab && tab.getAttribute("aria-selected") !== "true") tab.click();
    const until = Date.now() + 5000;
    const open = () => {
      const box = document.querySelector("#aa-paper-id textarea, #aa-paper-id input");
      if (!box || !box.offsetParent) {
        if (Date.now() < until) setTimeout(open, 50);
        return;
      }
      box.value = link.dataset.paper;
      box.dispatchEvent(new Event("input", { bubbles: true }));
      box.dispatchEvent(new KeyboardEvent("keypress", { key: "Enter", code: "Enter", bubbles: true }));  // Gradio submits on keypress
      document.getElementById("aa-abstract")?.scrollIntoView({ block: "start" });
    };
    open();
  });
"""


# "↑ answer" in a source card (render.BACK_LINK): the latest answer back in view (onLink: OPEN_JS, before it).
BACK_JS = """
  onLink("a.aa-back", () => {
    const bubbles = document.querySelectorAll("#aa-chat .aa-answer, #aa-chat .aa-abstain");
    if (bubbles.length) bubbles[bubbles.length - 1].scrollIntoView({ block: "start" });
  });
"""


# "Copy" under an answer (render.copy_tool): the answer and its references onto the clipboard. The Clipboard API
# needs a secure context (https or localhost); a server reached at http://<its address> gets the older way.
COPY_JS = """
  onLink("a.aa-copy", (link) => {
    const text = link.parentElement.querySelector(".aa-copy-text")?.textContent || "";
    const said = (word) => { link.textContent = word; setTimeout(() => { link.textContent = "Copy"; }, 1500); };
    const older = () => {
      const box = document.createElement("textarea");
      box.value = text;
      box.style.position = "fixed";
      box.style.opacity = "0";
      document.body.appendChild(box);
      box.select();
      const ok = document.execCommand("copy");
      box.remove();
      said(ok ? "Copied" : "Copy failed: select the text instead");
    };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(() => said("Copied"), older);
    else older();
  });
"""


# Gradio labels each chat message for screen readers with its content, which here is HTML ("bot's message: <div
# class=…"): the tags were read out. The label becomes the text a reader sees (hidden parts, as Copy's, left out).
LABEL_JS = """
  const relabel = (el) => {
    const said = (el.getAttribute("aria-label") || "").match(/^(.*?message: )\\s*</);
    if (!said || !el.closest("#aa-chat")) return;
    setTimeout(() => {  // after the update that set the label has written the message too
      const text = (el.innerText || "").replace(/\\s+/g, " ").trim().slice(0, 1000);
      el.setAttribute("aria-label", said[1] + text);
    }, 0);
  };
  new MutationObserver((changes) => {
    for (const change of changes) {
      if (change.type === "attributes") relabel(change.target);
      for (const node of change.addedNodes || []) {
        if (!node.querySelectorAll) continue;
        if (node.hasAttribute("aria-label")) relabel(node);
        node.querySelectorAll("[aria-label]").forEach(relabel);
      }
    }
  }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["aria-label"] });
"""


# After an answer: the question box again, if the focus fell to the page while the box was disabled.
REFOCUS_JS = """() => {
  const box = document.querySelector("#aa-question textarea");
  if (box && !box.disabled && (document.activeElement === document.body || !document.activeElement)) box.focus();
}"""


# "Waiting for the model… 12 s": render.STAGES marks the place; each new mark counts from when it appears.
ELAPSED_JS = """
  setInterval(() => {
    for (const el of document.querySelectorAll(".aa-elapsed")) {
      if (!el.dataset.start) el.dataset.start = String(Date.now());
      const seconds = Math.round((Date.now() - Number(el.dataset.start)) / 1000);
      el.textContent = seconds >= 1 ? `${seconds} s` : "";
    }
  }, 1000);
"""


# The server gone mid-answer (stopped, crashed, the laptop asleep): Gradio marks the chat "Error" and sends
# nothing more, so the controls stayed locked and the wait counted on. An error with Stop still shown for
# LOST_AFTER_S (a refused or failed answer unlocks the controls at once) says so, and keeps the question
# in this tab's storage for the box after a reload (the conversation is kept by the page itself).
LOST_AFTER_S = 3
LOST_NOTE = (
    "Lost the connection to the server while it was answering. Reload the page once the server runs again: "
    "the conversation is kept, and the question will be back in the box."
)
CONVERSATION_KEY = "aa-conversation"  # the browser's storage key of the conversation (its BrowserState)
# Each tab keeps its own conversation: Gradio's BrowserState keeps one in the browser's local storage, shared by
# every tab, so with two tabs open the last to save overwrote the other's (a reload showed one tab's chat in both).
# Run in the page's head, before Gradio reads that storage: each write is copied to this tab's session storage,
# and a reload puts the tab's copy back first. A new tab opens the conversation saved last, as before.
TAB_HEAD = """<script>
(() => {
  const KEY = %s, TAB = KEY + ":tab";
  try {
    const set = Storage.prototype.setItem;
    const mine = sessionStorage.getItem(TAB);
    if (mine !== null) set.call(localStorage, KEY, mine);
    Storage.prototype.setItem = function (key, value) {
      set.call(this, key, value);
      if (this === localStorage && key === KEY) set.call(sessionStorage, TAB, value);
    };
  } catch (e) { /* storage off: each load starts a new conversation */ }
})();
</script>""" % json.dumps(CONVERSATION_KEY)
PENDING_KEY = "aa-pending-question"
# Run once an answer is saved with the conversation (the browser's storage): its question need not come back
ANSWER_SAVED_JS = f"() => {{ sessionStorage.removeItem({json.dumps(PENDING_KEY)}); }}"
LOST_JS = (
    f"const LOST_AFTER_S = {LOST_AFTER_S}, LOST_NOTE = {json.dumps(LOST_NOTE)}, PENDING_KEY = {json.dumps(PENDING_KEY)};"
) + """
  const LOST_KEY = "aa-lost-question";
  let pending = "", lostSince = 0;
  const box = () => document.querySelector("#aa-question textarea");
  // Kept for this tab until the answer is saved with the conversation (ANSWER_SAVED_JS): a reload while it was
  // on its way lost the question, from the chat and from the box
  const asked = (text) => { pending = text || pending; if (text) sessionStorage.setItem(PENDING_KEY, text); };
  document.addEventListener("click", (e) => { if (e.target.closest("#aa-ask")) asked(box()?.value); }, true);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && e.target.closest("#aa-question")) asked(e.target.value);
  }, true);
  setInterval(() => {
    const stop = document.querySelector("#aa-stop");
    const failed = document.querySelector("#aa-chat .wrap:not(.hidden) .error");
    const waiting = stop && stop.offsetParent !== null && failed && !document.querySelector(".aa-lost");
    lostSince = waiting ? lostSince || Date.now() : 0;
    if (!waiting || Date.now() - lostSince < LOST_AFTER_S * 1000) return;
    if (pending) sessionStorage.setItem(LOST_KEY, pending);
    const note = document.createElement("p");
    note.className = "aa-lost";
    note.setAttribute("role", "alert");
    note.textContent = LOST_NOTE;
    document.querySelector("#aa-status")?.replaceChildren(note);
    stop.style.display = "none";  // nothing left to stop
  }, 1000);
  const kept = sessionStorage.getItem(LOST_KEY) || sessionStorage.getItem(PENDING_KEY);
  if (kept) {
    const refill = setInterval(() => {  // the box mounts after this script runs
      const el = box();
      if (!el || el.disabled) return;
      clearInterval(refill);
      sessionStorage.removeItem(LOST_KEY);
      sessionStorage.removeItem(PENDING_KEY);
      if (!el.value) { el.value = kept; el.dispatchEvent(new Event("input", { bubbles: true })); }
    }, 200);
    setTimeout(() => clearInterval(refill), 30000);
  }
"""


# Math: render.py marks each LaTeX span as <span class="aa-math">$…$</span>; this typesets every new one
# with the KaTeX build Gradio ships among its own assets (served by this server: no CDN, no request
# leaves it). `trust: false` refuses \\href, \\url, \\includegraphics and the HTML extensions; size
# and macro-expansion limits keep a hostile formula cheap. Without the assets the spans stay literal text.
MATH_JS = """
  const assets = %s;
  if (assets) {
    const base = new URL("assets/", document.baseURI);
    const css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = new URL(assets.css, base).href;
    document.head.appendChild(css);
    import(new URL(assets.js, base).href).then(({ default: katex }) => {
      const typeset = () => {
        for (const el of document.querySelectorAll(".aa-math:not([data-typeset])")) {
          const source = el.textContent;  // the span as written: $…$, $$…$$, \\(…\\) or \\[…\\]
          const cut = /^(\\$\\$|\\\\[(\\[])/.test(source) ? 2 : 1;
          el.setAttribute("data-typeset", "");
          try {
            katex.render(source.slice(cut, source.length - cut), el, {
              displayMode: el.classList.contains("aa-math-display"), throwOnError: false, trust: false,
              strict: "ignore", maxSize: 10, maxExpand: 100, output: "htmlAndMathml" });
          } catch (error) { el.textContent = source; el.setAttribute("data-typeset", "failed"); }
        }
      };
      typeset();
      new MutationObserver(typeset).observe(document.body, { childList: true, subtree: true });
    });
  }
"""


def katex_assets(folder: Path | None = None) -> dict[str, str] | None:
    """The file names of the KaTeX module and stylesheet among Gradio's frontend assets, if it ships them."""
    folder = folder or Path(gr.__file__).parent / "templates" / "frontend" / "assets"
    js, css = sorted(folder.glob("katex-*.js")), sorted(folder.glob("katex-*.css"))
    return {"js": js[0].name, "css": css[0].name} if len(js) == 1 and css else None


def page_js() -> str:
    """The page's script: [n] clicks that keep the answer in place, paper links, the wait counted, a server lost
    mid-answer said, and math typesetting."""
    return "() => {" + CITE_JS + OPEN_JS + BACK_JS + COPY_JS + LABEL_JS + ELAPSED_JS + LOST_JS + MATH_JS % json.dumps(katex_assets()) + "}\n"
