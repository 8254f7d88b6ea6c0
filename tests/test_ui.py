"""The Gradio page: the /ask endpoint from gradio_client, concurrency, per-question settings, safe rendering,
and the bind/auth check."""

from __future__ import annotations

import gc
import html
import logging

import json
import re
import warnings
from pathlib import Path
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import bibtexparser
import gradio as gr
import gradio_client
import pytest
from pydantic import SecretStr

from assistant import ui
from assistant.errors import ConfigError
from assistant.types import Answer, Citation, Paper, Passage
from assistant.ui import handlers, render
from assistant.ui.handlers import KEPT_EXPORTS, Handlers, remembered_settings, restored_settings
from conftest import free_port

NTK = "What does the neural tangent kernel describe?"



@pytest.fixture(scope="module")
def url(assistant: object) -> Iterator[str]:
    app = ui.build_app(assistant)  # type: ignore[arg-type]
    local = ui.launch(app, host="127.0.0.1", port=free_port(), block=False)
    yield local
    app.close()


def ask(url: str, question: str) -> dict[str, object]:
    client = gradio_client.Client(url, verbose=False)
    return client.predict(question, api_name="/ask")


def test_ask_endpoint_returns_cited_json(url: str) -> None:
    result = ask(url, NTK)
    assert result["abstained"] is False
    assert result["citations"], result
    first = result["citations"][0]
    assert set(first) >= {"n", "paper_id", "title", "quote"}
    assert f"[{first['n']}]" in result["answer"]
    assert "Neural Tangent Kernel" in result["answer"]


def test_ask_endpoint_reports_bad_questions_without_traceback(url: str) -> None:
    client = gradio_client.Client(url, verbose=False)
    with pytest.raises(Exception) as info:
        client.predict("   ", api_name="/ask")
    message = str(info.value)
    assert "question is empty" in message
    assert "Traceback" not in message


def test_eight_clients_at_once_all_succeed(url: str) -> None:
    questions = [NTK, "Which papers study post-training quantization?"] * 4
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda q: ask(url, q), questions))
    assert len(results) == 8
    for result in results:
        assert result["citations"] and not result["abstained"], result
    assert results[0]["answer"] == results[2]["answer"]  # same question, same answer under load


# -- binding and auth -----------------------------------------------------------------------------------
def test_loopback_needs_no_password() -> None:
    assert ui.resolve_auth("127.0.0.1", None) is None
    assert ui.resolve_auth("localhost", None) is None
    assert ui.resolve_auth("::1", None) is None


def test_public_bind_without_auth_is_refused() -> None:
    with pytest.raises(ConfigError, match="ASSISTANT_UI_AUTH"):
        ui.resolve_auth("0.0.0.0", None)


def test_public_bind_uses_auth_from_settings() -> None:
    assert ui.resolve_auth("0.0.0.0", SecretStr("alice:s3cret:x")) == ("alice", "s3cret:x")
    with pytest.raises(ConfigError, match="user:password"):
        ui.resolve_auth("0.0.0.0", SecretStr("no-colon"))


def test_no_auth_flag_warns_loudly(capsys: pytest.CaptureFixture[str]) -> None:
    assert ui.resolve_auth("0.0.0.0", None, no_auth=True) is None
    assert "WITHOUT a password" in capsys.readouterr().err


def test_cli_refuses_public_bind_before_starting_anything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant import cli

    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("the server must not start")

    monkeypatch.setattr(ui, "launch", must_not_run)
    monkeypatch.setattr(cli, "_assistant", must_not_run)
    assert cli.main(["serve", "--host", "0.0.0.0", "--port", "7999"]) == 2
    err = capsys.readouterr().err
    assert "refusing to serve on 0.0.0.0" in err and "Traceback" not in err


def test_cli_passes_auth_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant import cli

    seen: dict[str, object] = {}

    class FakeAssistant:
        def __init__(self) -> None:
            from assistant.config import Settings

            self.settings = Settings()

        def warm(self) -> None:
            pass

    monkeypatch.setenv("ASSISTANT_UI_AUTH", "reader:pw")
    monkeypatch.setattr(cli, "_assistant", FakeAssistant)
    class FakeApp:
        def block_thread(self) -> None:
            seen["published"] = json.loads((Path("store") / "serve.json").read_text())

        def close(self) -> None:
            seen["closed"] = True

    monkeypatch.setattr(ui, "build_app", lambda assistant: FakeApp())
    monkeypatch.setattr(ui, "launch", lambda app, **kw: seen.update(kw) or "http://0.0.0.0:7999/")
    monkeypatch.setattr(ui, "add_cli_routes", lambda app, assistant, token: seen.update(token=token))
    assert cli.main(["serve", "--host", "0.0.0.0", "--port", "7999"]) == 0
    assert seen["auth"] == ("reader", "pw") and seen["host"] == "0.0.0.0" and seen["port"] == 7999
    published = seen["published"]
    assert isinstance(published, dict) and published["url"] == "http://127.0.0.1:7999" and published["token"] == seen["token"]
    assert seen["closed"] and not (Path("store") / "serve.json").exists()


# -- the chat handler: per-question settings, follow-ups ----------------------------------------------------
def final(events: list[tuple[object, ...]]) -> tuple[object, ...]:
    return events[-1]


def test_settings_panel_changes_the_answer_retrieval(assistant: object) -> None:
    h = Handlers(assistant)  # type: ignore[arg-type]
    default = final(list(h.respond(NTK, [], [], "extractive", "hybrid", 5)))
    narrow = final(list(h.respond(NTK, [], [], "extractive", "bm25", 2)))
    assert "All 5 retrieved papers" in default[3] and "All 2 retrieved papers" in narrow[3]
    assert default[4] != narrow[4]  # the status line names a different settings hash
    assert assistant.settings_for(retrieval_mode="bm25", top_k=2).settings_hash() in narrow[4]  # type: ignore[attr-defined]


def test_the_settings_a_reload_left_come_back_unless_this_server_no_longer_offers_them() -> None:
    kept = remembered_settings("extractive", "bm25", 8)
    answer, retrieval, top_k = restored_settings(kept, ["extractive", "openai"], ["hybrid", "dense", "bm25"], (1, 20))
    assert (answer["value"], retrieval["value"], top_k["value"]) == ("extractive", "bm25", 8)
    # the LLM mode chosen before the server lost its LLM, a mode and a depth it does not offer: left as they are
    gone = restored_settings(remembered_settings("openai", "splade", 50), ["extractive"], ["hybrid", "dense", "bm25"], (1, 20))
    assert all("value" not in update for update in gone)
    assert all("value" not in update for update in restored_settings(None, ["extractive"], ["hybrid"], (1, 20)))


def test_examples_are_offered_only_where_the_store_answers_them(assistant: object, tmp_path: Path) -> None:
    """The page's example questions are about the seed papers: a library without them is offered none,
    rather than examples that, clicked, would only abstain."""
    from assistant.api import Assistant
    from assistant.config import Settings
    from assistant.ui.app import EXAMPLES

    assert Handlers(assistant).answerable(EXAMPLES) == EXAMPLES  # type: ignore[arg-type]
    assert Handlers(assistant).examples(EXAMPLES) == EXAMPLES  # type: ignore[arg-type]  # four: none drawn
    assert Handlers(Assistant(Settings(store_dir=tmp_path / "empty", seeds_dir=tmp_path / "none"))).answerable(EXAMPLES) == []  # no seeds
    library = tmp_path / "zebras.jsonl"
    library.write_text(json.dumps({"title": "Zebra stripes", "abstract": "We show that stripes deter biting flies "
                                   "in field trials with painted horses. Striped coats halved the landings of "
                                   "horse flies compared with uniform coats."}) + "\n", encoding="utf-8")
    zebras = Assistant(Settings(store_dir=tmp_path / "zebras", seeds_dir=tmp_path / "none"))
    zebras.ingest([library])
    assert Handlers(zebras).answerable([*EXAMPLES, "Do stripes deter biting flies?"]) == ["Do stripes deter biting flies?"]


def test_an_answer_the_abstracts_back_in_part_says_so_beside_it() -> None:
    """"support: partial" showed only in the status line under the chat, easy to miss (a helper's first read)."""
    cites = [Citation(n=1, paper_id="p1", title="Paper 1", quote="q")]
    partial = Answer(question="q?", text="A finds x [1].", citations=cites, abstained=False, settings_hash="h", support="partial")
    assert render.PARTIAL_CAVEAT in render.render_answer(partial.text, 0, partial)
    for other in (partial.model_copy(update={"support": "strong"}), partial.model_copy(update={"abstained": True})):
        assert render.PARTIAL_CAVEAT not in render.render_answer(other.text, 0, other)
    assert render.PARTIAL_CAVEAT not in render.render_answer(partial.text, 0)  # still streaming: not known yet


def test_an_answer_from_several_papers_reads_as_one_item_per_paper() -> None:
    cites = [Citation(n=n, paper_id=f"p{n}", title=f"Paper {n}", quote="q") for n in (1, 2)]
    answer = Answer(question="Which papers?", text="A finds x [1]. A also y [1]. B finds z [2].", citations=cites,
                    abstained=False, settings_hash="h")
    bubble = render.render_answer(answer.text, 0, answer)
    items = re.findall(r"<li>(.*?)</li>", bubble)
    assert len(items) == 2 and "A also y" in items[0] and 'href="#src-0-2"' in items[1], bubble
    one = answer.model_copy(update={"text": "A finds x [1]. B finds z [2]. A again [1].", "citations": cites})
    assert "<li>" not in render.render_answer(one.text, 0, one)  # a paper cited apart: read as written
    assert "<li>" not in render.render_answer("A finds x [1]. B finds z [2].", 0)  # still streaming


def test_a_refused_question_says_why_in_one_sentence() -> None:
    from assistant.ui.handlers import render_refusal

    assert render_refusal('the question is empty; ask something like "What is X?"').endswith("What is X?&#34;</span>")
    assert render_refusal("the year range is reversed").endswith("reversed.</span>")


def test_the_top_k_box_takes_any_typed_value_as_the_nearest_it_offers(assistant: object) -> None:
    """Typed into the Top-k box, 50, 0 and -3 printed a Gradio traceback per question on the server and 2.5 passed on
    as 2.5 (2 papers) while the slider showed 3."""
    from assistant.ui import app as ui_app

    app = ui_app.build_app(assistant)  # type: ignore[arg-type]
    try:
        (top_k,) = [b for b in app.blocks.values() if getattr(b, "elem_id", None) == "aa-top-k"]
        low, high = top_k.minimum, top_k.maximum  # type: ignore[attr-defined]
        assert [top_k.preprocess(v) for v in (50, 0, -3, 2.5, 7)] == [high, low, low, 3, 7]  # type: ignore[attr-defined]
        assert top_k.get_block_name() == "slider"  # drawn as Gradio's own
        assert not (Path(ui_app.__file__).with_suffix(".pyi")).exists()  # a component subclass made Gradio write one
        (box,) = [b for b in app.blocks.values() if getattr(b, "elem_id", None) == "aa-bibtex"]
        assert box.buttons == ["copy"]  # type: ignore[attr-defined]  # its download saved "file.txt"
    finally:
        app.close()


def test_the_references_box_holds_bibtex_to_cite_not_the_abstracts(assistant: object) -> None:
    h = Handlers(assistant)  # type: ignore[arg-type]
    turns = final(list(h.respond(NTK, [], [], "extractive", "hybrid", 5)))[2]
    box = h.references_bibtex(turns)  # type: ignore[arg-type]
    entries = bibtexparser.parse_string(box["value"]).entries
    assert box["visible"] and len(entries) == len(turns[-1]["paper_ids"])  # type: ignore[index]
    assert all("abstract" not in e.fields_dict and "title" in e.fields_dict for e in entries)
    assert "@comment" not in box["value"]
    assert not h.references_bibtex([{"role": "assistant", "paper_ids": ["no-such-paper"]}])["visible"]


def test_a_stop_pressed_while_the_question_waits_in_the_queue_ends_it_as_it_starts(
    assistant: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sent, then Stop while the answer still waits behind other sessions' answers (nothing of this session
    runs yet): before, the Stop found nothing to end and the answer came anyway."""
    from types import SimpleNamespace

    h = Handlers(assistant)  # type: ignore[arg-type]
    asked: list[str] = []
    stream = assistant.stream  # type: ignore[attr-defined]
    monkeypatch.setattr(assistant, "stream", lambda question, **kw: (asked.append(question), stream(question, **kw))[1])
    mine, other = SimpleNamespace(session_hash="mine"), SimpleNamespace(session_hash="other")
    h.sent(mine)  # type: ignore[arg-type]
    h.sent(other)  # type: ignore[arg-type]
    h.stop(mine)  # type: ignore[arg-type]
    stopped = final(list(h.respond(NTK, [], [], "extractive", "hybrid", 5, request=mine)))  # type: ignore[arg-type]
    assert stopped[:2] == (NTK, []) and "Stopped" in stopped[4] and not asked  # the question back, nothing asked
    _, chat, *_ = final(list(h.respond(NTK, [], [], "extractive", "hybrid", 5, request=other)))  # type: ignore[arg-type]
    assert asked == [NTK] and "aa-cite" in chat[-1]["content"]  # another session's Stop ended nothing of this one
    h.sent(mine)  # type: ignore[arg-type]
    _, chat, *_ = final(list(h.respond(NTK, [], [], "extractive", "hybrid", 5, request=mine)))  # type: ignore[arg-type]
    assert asked == [NTK, NTK] and "aa-cite" in chat[-1]["content"]  # the Stop was spent on the question it was for
    h.sent(mine)  # type: ignore[arg-type]
    h.settled(mine)  # type: ignore[arg-type]  # controls back without an answer (nothing to retry)
    h.stop(mine)  # type: ignore[arg-type]  # nothing waits: a late Stop is not kept for a later question
    assert not h._waiting and not h._running


def test_unconfigured_answer_mode_is_a_gradio_error(assistant: object) -> None:
    h = Handlers(assistant)  # type: ignore[arg-type]
    with pytest.raises(gr.Error, match="not configured"):
        list(h.respond(NTK, [], [], "openai", "hybrid", 5))


def test_follow_up_uses_the_conversation_and_keeps_the_earlier_answers_sources(assistant: object) -> None:
    h = Handlers(assistant)  # type: ignore[arg-type]
    _, chat, turns, first, _ = final(list(h.respond(NTK, [], [], "extractive", "hybrid", 5)))
    assert 'href="#src-1-1"' in chat[1]["content"] and "aa-earlier" not in first
    _, chat, turns, sources, _ = final(list(h.respond("How do they prove it?", chat, turns, "extractive", "hybrid", 5)))
    assert len(turns) == 4 and len(chat) == 4
    assert 'href="#src-2-1"' in chat[3]["content"] and 'id="src-2-1"' in sources
    assert "Neural Tangent Kernel" in sources  # "they" was read as the NTK papers of the first question
    # The first answer's [1] still opens its own quote: its sources are folded under its question, after the new ones
    assert 'href="#src-1-1"' in chat[1]["content"] and "aa-cite-old" not in chat[1]["content"]
    latest, earlier = sources.split('<div class="aa-earlier-list">')
    assert 'id="src-2-1"' in latest and 'id="src-1-1"' not in latest
    assert f"Answer 1: {NTK}" in earlier and 'id="src-1-1"' in earlier


def test_the_panel_keeps_the_sources_of_the_last_answers_and_their_links_alone() -> None:
    panels = [(n, f"Question {n}?", f'<div class="aa-sources"><mark id="src-{n}-1">q{n}</mark></div>') for n in range(1, 14)]
    html = render.render_panel("<div>latest</div>", panels)
    kept = re.findall(r'data-turn="(\d+)"', html)
    assert kept == [str(n) for n in range(13, 13 - render.EARLIER_KEPT, -1)]  # newest first, EARLIER_KEPT of them
    assert html.startswith("<div>latest</div>") and "Question 3?" not in html
    bubble = render.render_answer("A [1].", 3) + render.render_answer("B [1].", 4)
    retired = render.retire_links(bubble, kept={4})  # turn 3's sources left the panel, turn 4's are in it
    assert 'href="#src-4-1"' in retired and 'href="#src-3-1"' not in retired and retired.count("aa-cite-old") == 1


@pytest.mark.parametrize(("question", "says"), [("  ", "the question is empty"), ("Why? " * 500, "the limit is 2,000")])
def test_an_empty_or_long_question_is_refused_inline(
    assistant: object, question: str, says: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    (update,) = list(Handlers(assistant).respond(question, [], [], "extractive", "hybrid", 5))  # type: ignore[arg-type]
    *unchanged, status = update
    assert all(u == gr.update() for u in unchanged)  # question kept for editing, chat and sources untouched
    assert "Not asked:" in status and says in html.unescape(status)
    assert len([r for r in caplog.records if r.name.startswith("assistant")]) == 1  # one log line, no trace


def test_unexpected_errors_hide_their_details(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def paper_count(self) -> int:
            raise RuntimeError("sk-secret-key leaked in a message")

    with pytest.raises(gr.Error) as info:
        Handlers(Broken()).filter_papers("")  # type: ignore[arg-type]
    assert "sk-secret" not in str(info.value) and "server log" in str(info.value)
    assert "sk-secret" in caplog.text  # the details go to the server log only


def test_conversation_files_share_one_folder_that_stays_bounded_and_goes_with_the_page() -> None:
    h = Handlers(object())  # type: ignore[arg-type]  # export_file reads only the turns
    def turns(n: int) -> list[dict[str, object]]:
        return [{"role": "user", "content": f"Question {n}?"}, {"role": "assistant", "content": f"Answer {n} [1]."}]

    first = h.export_file(turns(0))["value"]
    assert Path(first).name == "conversation.md" and "Question 0?" in Path(first).read_text(encoding="utf-8")
    assert h.export_file(turns(0))["value"] == first  # the same conversation is the same file
    for n in range(1, KEPT_EXPORTS + 10):
        h.export_file(turns(n))
    assert len(list(h.exports.iterdir())) == KEPT_EXPORTS and not Path(first).exists()
    assert h.export_file([])["value"] is None
    folder = h.exports
    del h
    gc.collect()
    assert not folder.exists()


# -- safe rendering ---------------------------------------------------------------------------------------
EVIL = (
    "See ![x](https://evil.example/p.png?q=secret) <img src=x onerror=alert(1)> [click](javascript:alert(1)) "
    "https://evil.example/a www.evil.example me@evil.example **bold** `code` $$x$$ [1]"
)


def test_answer_bubble_shows_model_text_literally() -> None:
    html = render.render_answer(EVIL, turn=3)
    for markup in ("<img", "![", "](", "$$", "**", "`", "://", "www.", "@evil"):
        assert markup not in html, markup
    assert "<a " not in html.replace('<a class="aa-cite" href="#src-3-1" title="show source 1">', "")
    assert "javascript&#58;" in html  # there as text, never as a link target


def test_a_models_markdown_is_laid_out_and_nothing_else_acts() -> None:
    html = render.render_answer(EVIL + "\n\n- first **finding** [1]\n- second, *in italics*\n\n## Caveat\nnone", turn=3, model=True)
    for markup in ("<img", "![", "](", "**", "`", "://", "www.", "@evil"):  # still no image, link or raw markup
        assert markup not in html, markup
    assert "<a " not in html.replace('<a class="aa-cite" href="#src-3-1" title="show source 1">', "")
    assert "<strong>bold</strong>" in html and "<code>code</code>" in html
    assert "<ul><li>first <strong>finding</strong> <a class=\"aa-cite\"" in html and "<em>in italics</em></li></ul>" in html
    assert '<p class="aa-heading">Caveat</p><p class="aa-para">none</p>' in html
    assert html.count('class="aa-math') == 1  # $$x$$ is typeset, not read as emphasis


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("f_* and snake_case_name stay", "f&#95;&#42; and snake&#95;case&#95;name stay"),  # a subscript, a name
        ("2 * 3 * 4 is 24", "2 &#42; 3 &#42; 4 is 24"),  # arithmetic, not italics
        ("$a*b*c$ is **bold $x*y$**", '<span class="aa-math">&#36;a&#42;b&#42;c&#36;</span> is <strong>bold <span class="aa-math">'),
        ("**unclosed bold as it streams", "&#42;&#42;unclosed bold"),
    ],
)
def test_emphasis_is_read_only_where_a_writer_means_it(text: str, shown: str) -> None:
    assert shown in render.render_answer(text, turn=1, model=True)


def test_a_models_uncited_sentences_are_marked_once_it_has_answered() -> None:
    text = "## What it finds\nKernels describe training [1]. They also explain why everything generalises. In short:\n\nThe abstracts say as follows:\n- wide nets are linear [1]\n- nobody measured the constants here"
    answer = Answer(question="q", text=text, citations=[Citation(n=1, paper_id="a", title="T", quote="q")],
                    abstained=False, settings_hash="h", mode="openai", support="partial")
    html = render.render_answer(text, 2, answer, model=True)
    flagged = re.findall(r'<span class="aa-uncited"[^>]*>(.*?)</span>', html)
    assert flagged == ["They also explain why everything generalises&#46;", "nobody measured the constants here"], flagged
    assert "What it finds" not in "".join(flagged)  # a heading and "… as follows:" lead in; they claim nothing
    assert "aa-uncited" not in render.render_answer(text, 2, model=True)  # streaming: its marker may still come
    assert "aa-uncited" not in render.render_answer(text, 2, answer.model_copy(update={"mode": "extractive"}))


def test_an_abstracts_sentences_are_not_read_as_markdown() -> None:
    quoted = "We learn f_* with *no* labels [1].\n- a list item [1]."
    html = render.render_answer(quoted, turn=1)  # the extractive composer's text: the abstract's characters
    assert "<em>" not in html and "<li>" not in html and "&#42;no&#42;" in html


def test_a_models_answer_streams_and_ends_with_its_layout(small_store: Path) -> None:
    from scripted_llm import ScriptedLLM

    from assistant.api import Assistant
    from assistant.config import Settings

    llm = ScriptedLLM(script=["It describes **training in function space** [1].\n\n- gradient descent follows the kernel [1]"])
    a = Assistant(Settings(store_dir=small_store, seeds_dir=small_store.parent), llm=llm, auto_ingest=False)
    updates = list(Handlers(a).respond(NTK, [], [], a.settings.llm, "hybrid", 5))
    bubbles = [u[1][-1]["content"] for u in updates if isinstance(u[1], list) and u[1]]
    assert any("<strong>training in function space</strong>" in b for b in bubbles[:-1])  # while it streams
    assert "<strong>training in function space</strong>" in bubbles[-1] and "<ul><li>gradient descent" in bubbles[-1]
    assert "**" not in bubbles[-1]


def test_an_answer_carries_its_text_and_references_to_copy_and_an_abstention_does_not() -> None:
    citations = [
        Citation(n=1, paper_id="a", title="On $\\ell_1$ <b>", quote="q", authors=["Ann Lee", "Bo Chen", "Cy Dan"], year=2020),
        Citation(n=2, paper_id="b", title="Two", quote="r"),
    ]
    answer = Answer(question="q", text="First line [1].\n\nSecond [2].", citations=citations, abstained=False, settings_hash="h")
    assert render.copy_text(answer) == "First line [1].\n\nSecond [2].\n\nReferences:\n[1] On ℓ_1 <b> — Ann Lee et al., 2020\n[2] Two"
    html = render.render_answer(answer.text, 1, answer)
    tool = html[html.index('<div class="aa-tools">') :]
    assert "\n" not in tool and "<b>" not in tool and "&#10;&#10;References" in tool  # one HTML block, all of it text
    refused = answer.model_copy(update={"abstained": True, "citations": []})
    assert "aa-copy" not in render.render_answer("The abstracts do not say.", 1, refused)
    # the caveat the page shows under a partial answer goes onto the clipboard with it
    partial = answer.model_copy(update={"support": "partial", "notice": "The closest abstract does not answer\n“which GPU?”"})
    said = handlers.Handlers.summary(partial.model_copy(update={"notice": "<img src=x> ![n](https://evil.example/n.png)"}))
    assert said.endswith(" · " + render.md_literal("<img src=x> ![n](https://evil.example/n.png)")), said  # a Markdown line
    assert render.copy_text(partial).startswith(
        "First line [1].\n\nSecond [2].\n\nSupport: partial\nNote: The closest abstract does not answer “which GPU?”\n\nReferences:\n[1]"
    )


def test_a_marker_previews_its_paper_on_hover() -> None:
    p = paper(None, title="Kernels & <Wide> Nets " + "and more " * 30, year=2021)
    answer = cited(p).model_copy(update={"citations": [Citation(n=1, paper_id=p.id, title=p.title, quote="q", year=2021)]})
    html = render.render_answer("We show it [1]. And more [1].", 1, answer)
    titles = re.findall(r'<a class="aa-cite" href="#src-1-1" title="([^"]*)">\[1\]</a>', html)
    assert len(titles) == 2 and titles[0] == titles[1], html  # one paper, one preview (it showed the first quote twice)
    assert titles[0].startswith("[1] Kernels &amp; &lt;Wide&gt; Nets and more") and titles[0].endswith(" … (2021)")
    assert len(titles[0]) < 230  # clipped: a tooltip, not a page


def test_markers_link_only_to_resolved_citations() -> None:
    citation = Citation(n=1, paper_id="p1", title="T", quote="q")
    answer = Answer(question="q", text="Claim [1]. Other [7].", citations=[citation], abstained=False, settings_hash="h")
    html = render.render_answer(answer.text, 1, answer)
    assert html.count('class="aa-cite"') == 1 and 'href="#src-1-1"' in html and "&#91;7&#93;" in html


def test_retired_links_keep_their_numbers() -> None:
    bubble = render.render_answer("A [1] and [2].", 1)
    retired = render.retire_links(bubble)
    assert "href" not in retired and retired.count("aa-cite-old") == 2 and "[2]" in retired


def paper(url: str | None, **kw: object) -> Paper:
    fields = {"id": "p1", "title": "<script>alert(1)</script>", "abstract": "Intro <b>bold</b>. We show $x$ works. End."}
    return Paper(**{**fields, "url": url, "authors": ["A <i>B</i>"], **kw})  # type: ignore[arg-type]


def cited(p: Paper, quote: str = "We show $x$ works.") -> Answer:
    return Answer(
        question="q",
        text="We show it [1].",
        citations=[Citation(n=1, paper_id=p.id, title=p.title, quote=quote)],
        abstained=False,
        settings_hash="h",
        passages=[Passage(paper_id=p.id, title=p.title, score=0.5, text=p.abstract)],
    )


def test_source_cards_escape_everything_and_mark_the_quote() -> None:
    p = paper("javascript:alert(1)")
    html = render.render_sources(cited(p), {"p1": p}, turn=2)
    assert "<script>" not in html and "<b>" not in html and "<i>" not in html and "<img" not in html
    assert "href" not in html.replace('href="#', "")  # an unsafe URL gives no link at all
    assert '<mark id="src-2-1" title="quoted as [1]">We show <span class="aa-math">&#36;x&#36;</span> works.</mark>' in html
    assert "rank 1 of 1" in html and "0.500" not in html  # a rank and a readable strength, no raw score


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        (r"($\Sigma$AE) beats $O(n^2)$", [r"&#36;\Sigma&#36;", "&#36;O(n^2)&#36;"]),
        (r"display $$\sum_i x_i$$ and \(a<b\) and \[c\]", [r"&#36;&#36;\sum_i x_i&#36;&#36;", r"\(a&lt;b\)", r"\[c\]"]),
        ("it costs $5 and $10, or $ 3 $", []),  # money and spaced dollars stay text
        ("a$b$ and $x$5", []),  # a dollar inside a word, or a closing one before a digit
        ("$" + "x" * 500 + "$", []),  # a mismatched dollar far away is not math
    ],
)
def test_math_spans_are_marked_for_typesetting_and_stay_escaped(text: str, spans: list[str]) -> None:
    html = render.with_math(text)
    assert re.findall(r'<span class="aa-math(?: aa-math-display)?">(.*?)</span>', html) == spans
    assert "<" not in re.sub(r'</?span[^>]*>', "", html)  # no other markup, math included (a<b is &lt;)
    assert html.count("aa-math-display") == text.count("$$") // 2 + text.count("\\[")


def test_a_titles_math_is_typeset_on_its_card_as_a_quotes_is() -> None:
    p = paper("https://example.org/p1", title=r"Sparse Mixtures for $\ell_1$-Regularised Clustering")
    html = render.render_sources(cited(p), {"p1": p}, turn=1)
    assert r'Sparse Mixtures for <span class="aa-math">&#36;\ell_1&#36;</span>-Regularised Clustering</a>' in html


def test_text_styles_outside_math_read_as_their_words() -> None:
    html = render.with_math(r"we introduce \textit{symbolic autoencoding} and \emph{stable} training")
    assert html == "we introduce symbolic autoencoding and stable training"


def test_relevance_follows_the_ranking_and_never_shows_raw_fusion_scores() -> None:
    passages = [Passage(paper_id=f"p{i}", title=f"T{i}", score=s, text="x") for i, s in enumerate([1.7, 0.2, -0.4, -1.1])]
    ranks = render.relevance(passages)
    assert [ranks[f"p{i}"] for i in range(4)] == [(1, 100), (2, 46), (3, 25), (4, 0)]
    listed = render.render_retrieved(passages, {"p0"})
    assert "●●●●●</span> · cited" in listed and "●○○○○</span></span>" in listed  # the last one retrieved: one dot
    assert "%" not in listed  # "relevance 0%" read as "not relevant": it only came last
    assert not any(raw in listed for raw in ("1.7", "-0.4", "-1.1"))


def test_the_closest_papers_of_an_abstention_are_ranked_not_rated_and_their_abstracts_folded() -> None:
    """Scaled within a list none of which answers, the first paper always showed five dots of relevance."""
    near = [Passage(paper_id=f"p{i}", title=f"T{i}", score=1.0 - i, text=f"Abstract {i}.") for i in range(3)]
    papers = {p.paper_id: paper(None, id=p.paper_id, title=p.title) for p in near}
    abstained = Answer(question="q", text="No.", citations=[], abstained=True, settings_hash="h", passages=near)
    html = render.render_sources(abstained, papers, turn=1)
    assert "Closest papers — not an answer" in html and "rank 1 of 3" in html
    assert "aa-strength" not in html.split('class="aa-retrieved')[0]  # the cards; the folded list below keeps its figures
    assert html.count('<details class="aa-fold"><summary>Abstract</summary>') == 3
    assert "aa-strength" in render.render_sources(cited(papers["p0"]), papers, turn=1)  # an answer's sources are rated


def test_cards_link_only_to_the_papers_own_http_url() -> None:
    p = paper("https://arxiv.org/abs/1806.07572")
    html = render.render_sources(cited(p), {"p1": p}, turn=1) + render.render_paper(p)
    links = [part.split('"', 1)[0] for part in html.split('href="')[1:]]
    assert [link for link in links if link != "#"] == ["https://arxiv.org/abs/1806.07572"] * 2  # "#": in-page
    assert 'rel="noopener noreferrer nofollow"' in html


def test_cards_and_the_abstract_view_say_where_and_when_the_paper_appeared() -> None:
    p = paper("https://arxiv.org/abs/1806.07572").model_copy(update={"venue": "NeurIPS <b>", "year": 2018})
    html = render.render_sources(cited(p), {"p1": p}, turn=1) + render.render_paper(p)
    assert html.count("NeurIPS &lt;b&gt;, 2018") == 2  # escaped: a venue is text from a file
    assert "· 2018 ·" in render.render_paper(p.model_copy(update={"venue": None}))
    located = p.model_copy(update={"volume": "9", "issue": "8", "pages": "1735–1780", "publisher": "MIT & Co"})
    assert "NeurIPS &lt;b&gt;, 2018 · 9(8), 1735–1780 · MIT &amp; Co ·" in render.render_paper(located)


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html,hi", "//evil.example/x", "/local", "https://a b.example", None, ""]
)
def test_unsafe_urls_are_dropped(url: str | None) -> None:
    assert render.safe_url(url) is None


def test_every_sentence_an_answer_cites_is_marked_and_each_marker_links_to_its_own() -> None:
    """Every [1] of an answer led to the paper's first quote, whichever sentence it closed."""
    p = paper(None, abstract="Intro sentence here. We show that wide nets train fast. Next, we prove a rate for deep nets. Experiments on four data sets agree.")
    answer = cited(p, quote="We show that wide nets train fast.").model_copy(
        update={"text": "The authors show that wide nets train fast [1]. Next, the authors prove a rate for deep nets [1]."}
    )
    html = render.render_sources(answer, {"p1": p}, turn=3)
    quotes = re.findall(r'<p class="aa-quote"><mark id="([^"]+)" title="quoted as \[1\]">(.*?)</mark>', html)
    second = render.quote_anchor(3, 1, "Next, we prove a rate for deep nets.")
    assert quotes == [("src-3-1", "We show that wide nets train fast."), (second, "Next, we prove a rate for deep nets.")]
    assert html.count('class="aa-in-abstract"') == 2  # both marked in the whole abstract too
    assert '<span class="aa-n">[1]</span>' in html  # its number once, not "[1][1]"
    bubble = render.render_answer(answer.text, 3, answer, {"p1": p})
    assert re.findall(r'href="#([^"]+)"', bubble) == ["src-3-1", second]
    assert re.findall(r'href="#([^"]+)"', render.render_answer(answer.text, 3, answer)) == ["src-3-1", "src-3-1"]  # no papers


def test_a_quote_not_in_the_abstract_still_gets_its_anchor() -> None:
    p = paper(None)
    html = render.render_sources(cited(p, quote="A paraphrase <u>not</u> in the text."), {"p1": p}, turn=4)
    assert '<mark id="src-4-1"' in html and "&lt;u&gt;not&lt;/u&gt;" in html


def test_abstention_looks_different() -> None:
    answer = Answer(
        question="q",
        text="The provided abstracts do not answer this question.",
        citations=[],
        abstained=True,
        settings_hash="h",
        passages=[Passage(paper_id="p9", title="Closest", score=0.1, text="Something else.")],
    )
    bubble = render.render_answer(answer.text, 1, answer)
    assert "aa-abstain" in bubble and "aa-answer" not in bubble
    sources = render.render_sources(answer, {}, 1)
    assert "Closest papers" in sources and "aa-closest" in sources


def test_paper_search_matches_every_word_anywhere() -> None:
    from assistant.listing import holds_words

    papers = [paper(None, id="a1", title="Zebra nets"), paper(None, id="b2", title="Other", authors=["Ada Stripe"])]

    def found(query: str) -> list[str]:
        return [p.id for p in papers if holds_words(p, query.lower().split())]

    assert found("zebra") == ["a1"] and found("STRIPE") == ["b2"] and found("") == ["a1", "b2"]
    assert found("zebra stripe") == []


def test_the_papers_table_has_year_and_link_and_a_paper_shows_its_neighbours(assistant: object) -> None:
    dated = paper("https://arxiv.org/abs/1806.07572", id="a1", title="Kernels", authors=["Ada Lovelace"])
    dated = dated.model_copy(update={"year": 2018})
    assert render.paper_rows([dated]) == [["a1", "Kernels", "Ada Lovelace", "2018", "https://arxiv.org/abs/1806.07572", ""]]
    from assistant.listing import holds_words

    assert holds_words(dated, ["2018"])  # a year is searchable too
    ntk = next(p for p in assistant.papers() if p.title.startswith("Neural Tangent Kernel: Convergence"))  # type: ignore[attr-defined]
    view = Handlers(assistant).open_id(ntk.id)  # type: ignore[arg-type]
    assert "Similar papers" in view and view.count("<li>") == 5 and ntk.id not in view.split("Similar papers")[1]
    assert Handlers(assistant).open_id(f" {ntk.id.upper()} ") == view  # type: ignore[arg-type]  # as typed or pasted
    missing = Handlers(assistant).open_id("nonexistent<b>")  # type: ignore[arg-type]
    assert "No paper has the id <code>nonexistent&lt;b&gt;</code>" in missing  # said in place, not raised


def test_page_errors_leave_no_traceback_on_the_server_terminal() -> None:
    from assistant.errors import InvalidQuestion
    from assistant.ui.handlers import _translate, user_error

    assert user_error("Choose a file first.").print_exception is False
    assert _translate(InvalidQuestion("the question is empty")).print_exception is False


# -- the settings panel's description --------------------------------------------------------------------
class Configured:
    def __init__(self, **settings: object) -> None:
        from assistant.config import Settings

        self.settings = Settings(**settings)  # type: ignore[arg-type]


def test_settings_panel_names_the_llm_and_the_offline_default() -> None:
    from assistant.ui.app import answer_mode_choices, describe_answer_modes

    offline = Configured()
    assert "fully offline" in describe_answer_modes(offline) and "(the default)" in describe_answer_modes(offline)  # type: ignore[arg-type]
    assert answer_mode_choices(offline) == [("extractive (offline)", "extractive")]  # type: ignore[arg-type]
    llm = Configured(llm="openai-compatible", llm_model="llama3.2", llm_base_url="http://localhost:11434/v1")
    text = describe_answer_modes(llm)  # type: ignore[arg-type]
    assert "openai-compatible" in text and "`llama3.2`" in text and "localhost:11434" in text and "fully offline" in text
    assert [value for _, value in answer_mode_choices(llm)] == ["extractive", "openai-compatible"]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "overrides", [{"retrieval_mode": "magic"}, {"top_k": 0}, {"top_k": 51}, {"llm": "openai"}]
)
def test_bad_per_question_settings_are_refused(assistant: object, overrides: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        assistant.settings_for(**overrides)  # type: ignore[attr-defined]


# -- the evaluate tab, over a scripted evaluation ------------------------------------------------------------
class ScriptedEval:
    """Writes what Assistant.evaluate writes (report files, plots) and returns its shape."""

    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []

    def evaluate(self, path: object, *, modes: list[str], k: int, out: object, progress: object) -> object:
        from pathlib import Path

        from assistant.evalmodels import AnswerSummary, EvalReport, ReportIssue, RetrievalSummary
        from assistant.evaluate import EvalResult

        self.calls.append({"path": path, "modes": modes, "k": k})
        out_dir = Path(str(out))
        for name in ("by_kind.png", "retrieval.png", "report.json"):
            (out_dir / name).write_bytes(b"x")
        answers = AnswerSummary(
            cases=3, errors=0, citation_precision=0.83333, citation_recall=None, cited_sentence_share=None,
            abstention_accuracy=None, false_abstention_rate=None, reference_cosine=None, reference_rouge_l=None,
            latency_p50_ms=94.84, latency_p95_ms=None, unresolved_markers=0, dropped_markers=0,
        )
        report = EvalReport(
            schema_=1, created="now", question_file=str(path), settings_hash="abc123", code_hash="c0de",
            corpus_size=74, answer_mode="extractive", k=k, modes=modes, cases=3, answerable=2, unanswerable=1,
            failed=1, issues=[ReportIssue(line=4, message="<b>not JSON</b> ![x](https://evil.example/x.png)")], answers=answers, llm_judged=False,
            retrieval={
                m: RetrievalSummary(hit_at_1=0.66666, recall=1.0, mrr=None, ndcg_at_10=0.5, cases=3, k=k) for m in modes
            },
            by_kind={},
        )
        return EvalResult(report=report, rows=[], issues=[], out_dir=out_dir)


def test_evaluate_tab_shows_tables_plots_and_files(tmp_path: object) -> None:
    fake = ScriptedEval()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said in the summary, not a toast (gr.Warning outside a request warns)
        summary, retrieval, answers, plot1, plot2, files = Handlers(fake).run_evaluation(  # type: ignore[arg-type]
            None, ["bm25", "hybrid"], 3, progress=lambda *a, **k: None
        )
    assert fake.calls[0]["modes"] == ["bm25", "hybrid"] and fake.calls[0]["k"] == 3
    assert fake.calls[0]["path"] == handlers.BUNDLED_QUESTIONS  # the bundled set by default
    assert "**3 questions**" in summary and "**1 failed**" in summary
    assert "1 line(s) of the question file did not run" in summary
    # question-file problems quote the file: shown as text, neither HTML nor Markdown (no remote image)
    assert "line 4: " + render.md_literal("<b>not JSON</b> ![x](https://evil.example/x.png)") in summary
    assert "<b>" not in summary and "![" not in summary and "](" not in summary
    assert retrieval["headers"] == ["mode", "hit@1", "recall@3", "mrr", "ndcg@10"]
    assert retrieval["value"] == [["bm25", 0.667, 1.0, "–", 0.5], ["hybrid", 0.667, 1.0, "–", 0.5]]
    shown = dict(answers["value"])
    assert list(shown)[:3] == ["cases", "errors", "citation precision"]  # report.json's order
    assert (shown["citation precision"], shown["latency p50 ms"], shown["abstention accuracy"]) == (0.833, 94.8, "–")
    assert plot1.endswith("retrieval.png") and plot2.endswith("by_kind.png")
    assert [f.rsplit("/", 1)[-1] for f in files] == ["by_kind.png", "report.json", "retrieval.png"]


def test_evaluate_tab_needs_a_mode() -> None:
    with pytest.raises(gr.Error, match="at least one retrieval mode"):
        Handlers(ScriptedEval()).run_evaluation(None, [], 5, progress=lambda *a, **k: None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:sk-KEY@127.0.0.1:9/v1?key=sk-KEY#x", "http://127.0.0.1:9/v1"),
        ("https://api.example.com/v1", "https://api.example.com/v1"),
        ("not a url sk-KEY", "(a URL that could not be read)"),
    ],
)
def test_the_llm_url_is_shown_without_credentials(url: str, shown: str) -> None:
    from assistant.ui.app import describe_answer_modes

    assert render.public_url(url) == shown
    text = describe_answer_modes(Configured(llm="openai-compatible", llm_base_url=url))  # type: ignore[arg-type]
    assert shown in text and "sk-KEY" not in text


def test_papers_table_sends_at_most_a_page_and_reads_every_record_only_to_filter(
    assistant: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    import assistant.ui.handlers as handlers_module

    class Counting:
        def __init__(self, inner: object) -> None:
            self.inner, self.full_reads = inner, 0

        def papers(self, limit: int | None = None) -> object:
            self.full_reads += limit is None
            return self.inner.papers(limit)  # type: ignore[attr-defined]

        def search_papers(self, query: str, limit: int) -> object:
            self.full_reads += 1  # up to WHOLE_SEARCH papers a search reads them all (then keeps them)
            return self.inner.search_papers(query, limit)  # type: ignore[attr-defined]

        def paper_count(self) -> int:
            return self.inner.paper_count()  # type: ignore[attr-defined]

    monkeypatch.setattr(handlers_module, "SHOWN_PAPERS", 3)
    spy = Counting(assistant)
    h = Handlers(spy)  # type: ignore[arg-type]
    rows, count = h.filter_papers("")
    assert len(rows) == 3 and count == "74 of 74 papers (the first 3 shown: add words to narrow)"
    assert spy.full_reads == 0
    rows, count = h.filter_papers("neural")
    assert len(rows) == 3 and count.endswith("of 74 papers (the first 3 shown: add words to narrow)")
    assert int(count.split()[0]) > 3 and spy.full_reads == 1
    rows, count = h.filter_papers("neural tangent kernel eigenvalue")
    assert 1 <= len(rows) < 3 and count == f"{len(rows)} of 74 papers"


def test_each_source_card_lists_its_nearest_papers(assistant: object) -> None:
    h = Handlers(assistant)  # type: ignore[arg-type]
    *_, (_, _, turns, sources, _) = list(h.respond(NTK, [], [], "extractive", "hybrid", 5))
    cards = sources.split('<article class="aa-card')[1:]
    cited = list(dict.fromkeys(turns[-1]["paper_ids"]))
    assert len(cards) == len(cited) and all("<summary>Similar papers</summary>" in card for card in cards)
    first = cards[0].split("<summary>Similar papers</summary>", 1)[1]
    near = assistant.similar(cited[0], handlers.SIMILAR_SHOWN)  # type: ignore[attr-defined]
    assert [p.paper_id for p in near] == re.findall(r"id <code>(\w+)</code>", first)  # in order, the paper itself not among them
    assert cited[0] not in re.findall(r"id <code>(\w+)</code>", first)


def test_the_status_never_points_at_closest_papers_that_are_not_there() -> None:
    unmatched = Answer(question="q", text="No paper in the store matches the filters (year 2021); widen or drop them.",
                       citations=[], abstained=True, settings_hash="h")
    assert "closest papers" not in Handlers.summary(unmatched)
    off_topic = unmatched.model_copy(update={"passages": [Passage(paper_id="p", title="T", score=0.1, text="x")]})
    assert "closest papers are listed" in Handlers.summary(off_topic)


def test_similar_and_retrieved_titles_open_the_paper_escaped() -> None:
    near = Passage(paper_id='p"2', title="<b>Wide</b> nets", score=0.9, text="")
    html = render.similar_list([near], False)
    assert '<a href="#" class="aa-open" data-paper="p&quot;2" title="Read this abstract">&lt;b&gt;Wide&lt;/b&gt; nets</a>' in html


def test_the_page_secret_is_made_once_kept_private_and_not_foreign_to_the_store(tmp_path: Path) -> None:
    from assistant.store import refuse_foreign
    from assistant.ui.access import browser_secret

    store = tmp_path / "store"
    first = browser_secret(store)
    assert first and first == browser_secret(store) and len(first) >= 32
    assert oct((store / "page-secret").stat().st_mode & 0o777) == "0o600"
    refuse_foreign(store)  # a store folder holding only the secret is still ours to write into


def test_the_export_keeps_each_answers_mode_support_and_notice() -> None:
    """An offline fallback, an invented citation, a cut-off: the exported Markdown dropped what the page said."""
    from assistant.ui.handlers import conversation_markdown

    turns = [
        {"role": "user", "content": "What does the NTK describe?"},
        {"role": "assistant", "content": "It describes training [1].", "references": ["NTK — A. Jacot, 2018"],
         "mode": "extractive", "support": "partial",
         "notice": "The LLM at localhost:11434 was unavailable (could not connect); this answer was composed offline."},
        {"role": "user", "content": "And older turns?"},
        {"role": "assistant", "content": "Saved before these fields [1].", "references": ["X"]},
    ]
    markdown = conversation_markdown(turns)
    assert ("It describes training [1].\n\n*extractive answer, support: partial*  \nNote: The LLM at localhost:11434 "
            "was unavailable (could not connect); this answer was composed offline.\n\nReferences:") in markdown
    assert "Saved before these fields [1].\n\nReferences:" in markdown  # a turn saved by an older page


def test_a_models_headings_sit_under_the_exports_question_headings() -> None:
    from assistant.ui.handlers import conversation_markdown

    answer = "## Summary\nIt trains [1].\n\n```python\n# a comment, not a heading\n```\n##### Deep\n#hashtag"
    turns = [{"role": "user", "content": "Q one"}, {"role": "assistant", "content": answer, "references": ["R"]},
             {"role": "user", "content": "Q two"}]
    markdown = conversation_markdown(turns)
    outside_code = re.sub(r"```.*?```", "", markdown, flags=re.S)
    headings = [line for line in outside_code.splitlines() if re.match(r"#{1,2} ", line)]
    assert headings == ["# Conversation with Abstract Assistant", "## 1. Q one", "## 2. Q two"]  # the model's is not one
    assert "#### Summary\nIt trains [1]." in markdown and "###### Deep" in markdown
    assert "# a comment, not a heading" in markdown and "\n#hashtag" in markdown  # code and a hashtag are left alone


def test_the_export_places_no_image_link_or_tag_an_abstract_or_title_brought() -> None:
    """An added file is untrusted: its title or sentence, in the exported Markdown, must not load an image when the
    file is opened in a Markdown viewer. Read with a CommonMark renderer, as a viewer reads it."""
    from markdown_it import MarkdownIt

    from assistant.ui.handlers import conversation_markdown

    evil = "<img src=https://evil.example/i.png> ![x](https://evil.example/p.png) [go](https://evil.example/l) <https://evil.example/a>"
    turns = [
        {"role": "user", "content": f"Why {evil}?"},
        {"role": "assistant", "content": f"Zebras *stripe* {evil} [1].\n\n```\n<b>code stays</b>\n```",
         "references": [f"Stripes {evil} — A. Mallory, 2020"], "mode": "extractive", "support": "partial", "notice": evil},
    ]
    markdown = conversation_markdown(turns)
    page = MarkdownIt("commonmark").render(markdown)
    assert "<img" not in page and "<a " not in page and "<b>" not in page, page
    assert page.count("![x](https://evil.example/p.png)") == 4 and "<em>stripe</em>" in page  # said, as text
    assert "&lt;b&gt;code stays&lt;/b&gt;" in page and "<b>code stays</b>" in markdown  # code is left as written
    assert "Zebras *stripe* " in markdown and "[1]." in markdown and "[1] Stripes " in markdown


def test_a_stopped_or_abandoned_answer_lets_go_of_its_stream() -> None:
    """Stop ends the answer while the model is silent, and the stream itself is closed at its next event, so
    the model call ends too; an answer the page stops reading (a closed tab) lets go of it the same way."""
    import threading
    import time

    from assistant.types import Status
    from assistant.ui.handlers import Handlers

    def run(stop_it: bool) -> list[str]:
        seen: list[str] = []

        def events() -> Iterator[Status]:
            try:
                for stage in ("retrieving", "waiting", "writing", "writing"):
                    seen.append(stage)
                    yield Status(stage=stage)
                    time.sleep(0.6)
            finally:
                seen.append("closed")

        stop = threading.Event()
        reader = Handlers._until_stopped(events(), stop)
        assert next(reader) == Status(stage="retrieving")
        if stop_it:
            stop.set()
            assert next(reader) is None  # within a tick, though the model is silent
        else:
            reader.close()
        time.sleep(1.5)  # the pump's next event comes, and it lets go
        return seen

    for stop_it in (True, False):
        seen = run(stop_it)
        assert seen[-1] == "closed" and len(seen) < 5, (stop_it, seen)


def test_the_papers_tab_exports_the_papers_its_search_finds(assistant: object) -> None:
    import json

    from assistant.ui.handlers import EXPORT_CHOICES, Handlers

    h = Handlers(assistant)  # type: ignore[arg-type]
    csl = next(label for label, (fmt, _) in EXPORT_CHOICES.items() if fmt == "csl")
    path = Path(h.export_papers("tangent kernel", csl)["value"])
    found, matched = assistant.search_papers("tangent kernel", 100)
    items = json.loads(path.read_text(encoding="utf-8"))
    assert path.suffix == ".json" and matched >= 1 and [i["abstract"] for i in items] == [p.abstract for p in found]
    everything = Path(h.export_papers("", "BibTeX (.bib)")["value"]).read_text(encoding="utf-8")
    assert everything.count("\n@") == assistant.paper_count()  # no search: every paper
    with pytest.raises(gr.Error, match="nothing to export"):
        h.export_papers("zzzz-no-such-word", csl)
    with pytest.raises(gr.Error, match="Choose an export format"):
        h.export_papers("tangent kernel", "JSON")
    pid = found[0].id
    assert assistant.export([pid, pid], "ris").count("TY  -") == 1  # an id given twice is one record


def test_a_long_conversation_keeps_only_the_panels_it_shows(assistant: object) -> None:
    h = Handlers(assistant)  # type: ignore[arg-type]
    chat: list = []
    turns: list = []
    for _ in range(render.EARLIER_KEPT + 2):
        _, chat, turns, sources, _ = final(list(h.respond(NTK, chat, turns, "extractive", "hybrid", 5)))
    last = render.EARLIER_KEPT + 2
    assert sources.count('class="aa-earlier"') == render.EARLIER_KEPT and f'data-turn="{last - 1}"' in sources
    assert 'data-turn="1"' not in sources
    # what left the panel leaves the saved conversation too, and its links turn into labels
    kept = [n for n, said in enumerate(turns[1::2], start=1) if "sources" in said]
    assert kept == list(range(last - render.EARLIER_KEPT + 1, last + 1))
    assert "aa-cite-old" in chat[1]["content"] and "aa-cite-old" not in chat[2 * last - 1]["content"]
    assert 'href="#src-3-1"' in chat[5]["content"]


def test_a_library_of_ones_own_is_offered_questions_about_the_methods_its_titles_name(tmp_path: Path) -> None:
    from assistant.api import Assistant
    from assistant.config import Settings
    from assistant.ui.app import EXAMPLES

    papers = [
        ("ZebraNet: Detecting Stripes with Convolutional Networks", ("We propose ZebraNet, a convolutional network that "
         "detects stripe patterns on animal coats. ZebraNet counts stripes in field photographs with high accuracy.")),
        ("HoofFormer : Gait Transformers", ("HoofFormer is a transformer that reads hoof-beat recordings. It classifies "
         "the gait of a horse from the rhythm of its hooves.")),
        ("Grazing Ecology: A Review", "This review surveys grazing ecology of wild equids across savanna habitats."),
    ]
    library = tmp_path / "equids.jsonl"
    library.write_text("".join(json.dumps({"title": t, "abstract": a}) + "\n" for t, a in papers), encoding="utf-8")
    equids = Assistant(Settings(store_dir=tmp_path / "equids", seeds_dir=tmp_path / "none"))
    equids.ingest([library])
    offered = Handlers(equids).examples(EXAMPLES)
    assert offered == ["What is ZebraNet?", "What is HoofFormer?"]  # no seed question; "Grazing Ecology" names no method
    assert all(not equids.ask(q).abstained for q in offered)


def test_an_earlier_answer_saved_without_its_sources_has_its_links_turned_into_labels(assistant: object) -> None:
    h = Handlers(assistant)  # type: ignore[arg-type]
    _, chat, turns, _, _ = final(list(h.respond(NTK, [], [], "extractive", "hybrid", 5)))
    del turns[1]["sources"]  # a conversation saved by an earlier version of the page
    _, chat, turns, sources, _ = final(list(h.respond("What is PowerNorm?", chat, turns, "extractive", "hybrid", 5)))
    assert "aa-cite-old" in chat[1]["content"] and 'href="#src-1-' not in chat[1]["content"]
    assert "aa-earlier" not in sources and 'href="#src-2-1"' in chat[3]["content"]


def test_a_models_sources_are_shown_while_it_reads_and_writes(small_store: Path) -> None:
    from scripted_llm import ScriptedLLM

    from assistant.api import Assistant
    from assistant.config import Settings

    llm = ScriptedLLM(script=["It describes gradient descent in function space [1]."])
    a = Assistant(Settings(store_dir=small_store, seeds_dir=small_store.parent), llm=llm, auto_ingest=False)
    updates = list(Handlers(a).respond(NTK, [], [], a.settings.llm, "hybrid", 5))
    panels = [u[3] for u in updates if isinstance(u[3], str)]
    reading = [p for p in panels if "aa-reading" in p]
    assert reading and panels.index(reading[0]) < len(panels) - 1  # before the answer's own cards
    assert "Reading" in reading[0] and 'class="aa-open"' in reading[0]  # the titles, each opening its abstract
    assert "aa-reading" not in panels[-1] and "aa-card" in panels[-1]  # then the cards of what it cited


def test_a_stopped_answer_puts_back_the_sources_its_reading_list_replaced(small_store: Path) -> None:
    from types import SimpleNamespace

    from scripted_llm import ScriptedLLM

    from assistant.api import Assistant
    from assistant.config import Settings

    llm = ScriptedLLM(script=["It describes gradient descent in function space [1].", "PowerNorm normalizes [1]."])
    a = Assistant(Settings(store_dir=small_store, seeds_dir=small_store.parent), llm=llm, auto_ingest=False)
    h, me = Handlers(a), SimpleNamespace(session_hash="me")
    _, chat, turns, before, _ = final(list(h.respond(NTK, [], [], a.settings.llm, "hybrid", 5, request=me)))
    assert "aa-card" in before
    updates = h.respond("What is PowerNorm?", chat, turns, a.settings.llm, "hybrid", 5, request=me)
    for update in updates:
        if isinstance(update[3], str) and "aa-reading" in update[3]:
            h.stop(me)  # type: ignore[arg-type]  # Stop while the model reads
            break
    else:
        raise AssertionError("no Reading list was shown")
    stopped = final(list(updates))
    assert "Stopped" in stopped[4] and stopped[3] == before  # the first answer's cards again, not the Reading list
