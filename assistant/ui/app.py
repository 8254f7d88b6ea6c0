"""The Blocks layout of the page and how it is served; what each event does lives in handlers.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from .access import browser_secret
from .handlers import EXPORT_CHOICES, PLOT_SLOTS, UPLOAD_TYPES, Handlers, remembered_settings, restored_settings
from .render import EMPTY_SOURCES, public_url, render_paper
from .style import ANSWER_SAVED_JS, CONVERSATION_KEY, CSS, REFOCUS_JS, TAB_HEAD, page_js, theme

if TYPE_CHECKING:
    from ..api import Assistant

EXAMPLES = [
    "What does the neural tangent kernel describe?",
    "Which papers study post-training quantization?",
    "How does flow matching compare with diffusion models?",
    "What is symbolic autoencoding?",
]
EVAL_MODES = ["bm25", "dense", "hybrid", "llamaindex-stock"]
PAPER_HEADERS = ["id", "title", "authors", "year", "link", "sources"]
CONCURRENCY = 8  # requests answered at once; more wait in Gradio's queue


def describe_answer_modes(assistant: Assistant) -> str:
    s = assistant.settings
    offline = "**Extractive** quotes sentences from the abstracts: fully offline, no LLM, no API key"
    if s.llm == "extractive":
        return offline + " (the default). Set `ASSISTANT_LLM` to add an LLM answer mode."
    where = f" at `{public_url(s.llm_base_url)}`" if s.llm_base_url else ""  # no user:key@ or ?key=
    return (
        f"**{s.llm}** writes answers with the model `{s.llm_model}`{where}; the question and the retrieved "
        f"abstracts are sent to it. {offline} (the default when `ASSISTANT_LLM` is unset)."
    )


def answer_mode_choices(assistant: Assistant) -> list[tuple[str, str]]:
    s = assistant.settings
    choices = [("extractive (offline)", "extractive")]
    if s.llm != "extractive":
        choices.append((f"{s.llm}: {s.llm_model}", s.llm))
    return choices


RETRIEVAL_MODES = ["hybrid", "dense", "bm25"]
RUN_BUNDLED = "Run on the bundled questions"
RUN_FILE = "Run on this question file"


def lock() -> tuple[Any, ...]:
    """The question box, Ask, Retry and Clear off, Stop on, the example questions hidden: an answer is on its way
    (Enter in the box started a second one, which left the first pending for good; cleared meanwhile, the chat got
    the answer back; an example clicked wrote a second answer into the same conversation)."""
    off = gr.update(interactive=False)
    return off, off, off, off, gr.update(visible=True), gr.update(visible=False)


def unlock(examples: bool, retry: bool = True) -> tuple[Any, ...]:
    """The controls back; Retry only with an exchange to retry (after a Clear it raised an "Error" toast)."""
    on = gr.update(interactive=True)
    return on, on, gr.update(interactive=retry), on, gr.update(visible=False), gr.update(visible=examples)


def typed_within(slider: gr.Slider) -> Callable[[float | None], float | None]:
    """The slider's preprocess for a number box that takes any typed value: one past its ends is the nearest end,
    a fraction the nearest whole number (Gradio's own raised on 50, 0 or -3, printing a traceback per question,
    and passed 2.5 on while the slider showed 3). Set on the instance: a subclass of a Gradio component makes
    Gradio write a .pyi stub beside this module at import."""
    low, high = float(slider.minimum), float(slider.maximum)

    def preprocess(payload: float | None) -> float | None:
        if payload is None:
            return None
        whole = float(int(float(payload) + 0.5)) if payload >= 0 else low  # as the slider rounds
        return min(max(whole, low), high)

    return preprocess


def build_app(assistant: Assistant) -> gr.Blocks:
    """The page over one shared, thread-safe Assistant; serve it with launch()."""
    h = Handlers(assistant)
    s = assistant.settings
    initial_rows, initial_count = h.filter_papers("")
    top_k_range = (1, max(20, s.top_k))
    # Gradio's copies of downloads and uploads: gone after an hour, not kept for the life of the server
    with gr.Blocks(title="Abstract Assistant", analytics_enabled=False, delete_cache=(3600, 3600)) as app:
        gr.Markdown(
            "# Abstract Assistant\nCited answers from machine-learning abstracts. Every sentence cites the "
            "abstract it comes from: click a [n] to see the quoted sentence.",
            elem_classes=["aa-header"],
        )
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                turns = gr.State([])
                # Survives a reload, and a restart of the server: the key is kept in the store folder.
                secret = browser_secret(Path(assistant.settings.store_dir))
                saved = gr.BrowserState(None, storage_key=CONVERSATION_KEY, secret=secret)
                saved_settings = gr.BrowserState(None, storage_key="aa-settings", secret=secret)
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        chat = gr.Chatbot(
                            show_label=False,
                            height=460,
                            latex_delimiters=[],
                            sanitize_html=True,
                            placeholder="Ask about the abstracts; answers cite their sources.",
                            elem_id="aa-chat",
                            buttons=[],
                        )
                        status = gr.Markdown("", elem_id="aa-status")
                        with gr.Row(equal_height=True):
                            question = gr.Textbox(
                                label="Question",  # read out by screen readers; the placeholder shows the rest
                                show_label=False,
                                placeholder="e.g. What does the neural tangent kernel describe?",
                                scale=6,
                                max_lines=4,
                                elem_id="aa-question",
                                submit_btn=False,
                            )
                            ask_btn = gr.Button("Ask", variant="primary", scale=1, min_width=90, elem_id="aa-ask")
                        with gr.Row():
                            retry_btn = gr.Button(
                                "↻ Retry", size="sm", variant="secondary", interactive=False, elem_id="aa-retry"
                            )
                            # Shown while an answer is on its way (a local model may take a minute).
                            stop_btn = gr.Button("■ Stop", size="sm", variant="stop", visible=False, elem_id="aa-stop")
                            clear_btn = gr.Button("Clear", size="sm", variant="secondary", elem_id="aa-clear")
                            export_btn = gr.DownloadButton(
                                "Export (.md)", size="sm", variant="secondary", interactive=False, elem_id="aa-export"
                            )
                        offered = h.examples(EXAMPLES)  # at start: the store's papers then
                        with gr.Column(visible=bool(offered), elem_id="aa-examples") as examples_box:
                            examples = (
                                gr.Examples(offered, inputs=[question], label="Example questions (click to ask)")
                                if offered else None
                            )
                        with gr.Accordion("Filters", open=False, elem_id="aa-filters"):
                            # short placeholders, the syntax below each box: the longer ones were cut off ("names, comma-se")
                            with gr.Row():
                                year = gr.Textbox(
                                    label="Years", placeholder="2019..2021", info="a year, or a range: 2019.., ..2021", max_lines=1,
                                    elem_id="aa-filter-year",
                                )
                                author = gr.Textbox(
                                    label="Authors", placeholder="Rivera, Chen", info="any of these names", max_lines=1,
                                    elem_id="aa-filter-author",
                                )
                                category = gr.Textbox(
                                    label="Categories", placeholder="cs.LG, stat.ML", info="any of these", max_lines=1,
                                    elem_id="aa-filter-category",
                                )
                                venue = gr.Textbox(
                                    label="Venues", placeholder="NeurIPS, ICML", info="any of these", max_lines=1,
                                    elem_id="aa-filter-venue",
                                )
                        with gr.Accordion("Settings", open=False, elem_id="aa-settings"):
                            gr.Markdown(describe_answer_modes(assistant))
                            answer_mode = gr.Radio(
                                answer_mode_choices(assistant), value=s.llm, label="Answer mode",
                                elem_id="aa-answer-mode",
                            )
                            with gr.Row():
                                retrieval_mode = gr.Radio(
                                    RETRIEVAL_MODES, value=s.retrieval_mode, label="Retrieval mode",
                                    info="hybrid fuses dense vectors with BM25 keywords", elem_id="aa-retrieval-mode",
                                )
                                top_k = gr.Slider(
                                    *top_k_range, value=s.top_k, step=1, label="Top-k",
                                    info="papers retrieved per question", elem_id="aa-top-k",
                                )
                                top_k.preprocess = typed_within(top_k)  # type: ignore[method-assign, assignment]
                    with gr.Column(scale=2, elem_id="aa-sources-col"):
                        sources = gr.HTML(EMPTY_SOURCES, elem_id="aa-sources")
                        bibtex = gr.Code(
                            "", language=None, label="References as BibTeX", buttons=["copy"],  # its download was "file.txt"
                            interactive=False, visible=False, max_lines=12, elem_id="aa-bibtex",
                            wrap_lines=True,  # a long title is read whole on a phone, not scrolled sideways
                        )

            with gr.Tab("Papers", id="papers") as papers_tab:
                with gr.Row():
                    search = gr.Textbox(
                        label="Search", placeholder="words in the title, authors, abstract, id or file name",
                        scale=4, elem_id="aa-paper-search",
                    )
                    pid = gr.Textbox(label="Paper id", placeholder="e.g. a77fca7394f9", scale=1, elem_id="aa-paper-id")
                count = gr.Markdown(initial_count, elem_id="aa-paper-count")
                table = gr.Dataframe(
                    value=initial_rows,
                    headers=PAPER_HEADERS,
                    datatype="str",
                    type="array",
                    interactive=False,
                    wrap=True,
                    max_height=420,
                    column_widths=["11%", "38%", "18%", "7%", "13%", "13%"],
                    show_label=False,
                    elem_id="aa-papers",
                )
                abstract = gr.HTML(render_paper(None), elem_id="aa-abstract")
                with gr.Row(equal_height=False, elem_id="aa-export-row"):
                    export_format = gr.Dropdown(  # labelled for a screen reader, which announced only "Dropdown"
                        list(EXPORT_CHOICES), value=next(iter(EXPORT_CHOICES)), label="Export format", show_label=False,
                        scale=2, min_width=200,
                        container=False, elem_id="aa-export-format",
                    )
                    export_papers_btn = gr.Button(
                        "Export the papers found", size="sm", variant="secondary", scale=1, min_width=180,
                        elem_id="aa-export-papers",
                    )
                    # Shown once there is a file: a link to download it.
                    export_papers_file = gr.File(
                        show_label=False, interactive=False, visible=False, height=72, scale=2, min_width=200,
                        elem_id="aa-export-file",
                    )

            with gr.Tab("Add abstracts", id="add"):
                gr.Markdown(
                    "Upload your library: BibTeX (`.bib`, `.bibtex`), RIS (`.ris`), Zotero or Mendeley CSV or CSL JSON, arXiv or "
                    "OpenAlex JSON lines, arXiv API Atom (`.xml`), `.txt` pages, or `.jsonl` with one `{\"title\", \"abstract\", "
                    "\"authors\", \"url\", \"year\"}` per line. New papers are embedded into the store and searchable at "
                    "once; records without an abstract and unreadable files are listed."
                )
                upload = gr.File(
                    label="Abstract files", file_count="multiple", file_types=list(UPLOAD_TYPES),
                    elem_id="aa-upload",
                )
                add_btn = gr.Button("Add to the store", variant="primary", elem_id="aa-add")
                add_report = gr.Markdown("", elem_id="aa-add-report")

            with gr.Tab("Evaluate", id="evaluate"):
                gr.Markdown(
                    "Score retrieval (per mode, beside LlamaIndex's stock retriever) and answers on the bundled "
                    "question set, or on your own question file (JSONL: `{id, question, expected_papers | "
                    "expected_quotes, reference_answer, answerable, kind}`; see the README)."
                )
                with gr.Row():
                    qfile = gr.File(
                        label="Question file (optional; default: the bundled set)", file_types=[".jsonl"],
                        elem_id="aa-qfile",
                    )
                    with gr.Column():
                        eval_modes = gr.CheckboxGroup(EVAL_MODES, value=EVAL_MODES, label="Retrieval modes")
                        eval_k = gr.Slider(1, 10, value=5, step=1, label="k (for recall@k)")
                        eval_btn = gr.Button(RUN_BUNDLED, variant="primary", elem_id="aa-eval")
                eval_summary = gr.Markdown("", elem_id="aa-eval-summary")
                eval_empty = gr.Markdown(
                    "No results yet. **Run on the bundled questions** scores the 82 bundled questions in about a "
                    "minute (retrieval per mode beside LlamaIndex's stock retriever, then cited answers); upload a "
                    "question file first to score your own.",
                    elem_id="aa-eval-empty",
                )
                with gr.Column(visible=False, elem_id="aa-eval-results") as eval_results, gr.Row(equal_height=False):
                    eval_retrieval = gr.Dataframe(
                        label="Retrieval", interactive=False, scale=3, elem_id="aa-eval-retrieval"
                    )
                    eval_answers = gr.Dataframe(label="Answers", interactive=False, scale=2, elem_id="aa-eval-answers")
                with gr.Column(visible=False, elem_id="aa-eval-plots") as eval_plot_col:
                    eval_plots = [
                        gr.Image(
                            type="filepath", interactive=False, show_label=False, buttons=["download", "fullscreen"],
                        )
                        for _ in range(PLOT_SLOTS)
                    ]
                eval_files = gr.File(
                    label="Report files", file_count="multiple", interactive=False, elem_id="aa-eval-files",
                    visible=False,
                )

        chat_inputs = [question, chat, turns, answer_mode, retrieval_mode, top_k, year, author, category, venue]
        chat_outputs = [question, chat, turns, sources, status]
        private: dict[str, Any] = {"api_visibility": "private"}

        def kept(event: Any) -> None:  # after the conversation changes: remember it, refresh the export
            event.then(h.snapshot, [chat, turns, sources], [saved], **private).then(
                None, None, None, js=ANSWER_SAVED_JS
            ).then(h.export_file, [turns], [export_btn], **private).then(h.references_bibtex, [turns], [bibtex], **private)

        # While an answer is on its way, the box, Ask, Retry and Clear are off and Stop is shown: a second question, or a retry,
        # started meanwhile would write into the same conversation as the first (a retry of the previous
        # exchange took the pending question's place, and its answer was lost).
        controls = [question, ask_btn, retry_btn, clear_btn, stop_btn, examples_box]

        def locked(request: gr.Request) -> tuple[Any, ...]:  # before the queue: a Stop from here on is kept
            h.sent(request)
            return lock()

        def unlocked(conversation: list[dict[str, Any]], request: gr.Request) -> tuple[Any, ...]:
            h.settled(request)
            return unlock(bool(offered), bool(conversation))

        # An example clicked is asked at once, as a suggested question is in other cited-answer apps: filling the
        # box and waiting for Ask left readers wondering whether anything happened.
        triggers = [ask_btn.click, question.submit] + ([examples.load_input_event.then] if examples else [])
        for trigger in triggers:
            answered = trigger(locked, None, controls, queue=False, **private).then(
                h.respond, chat_inputs, chat_outputs, show_progress="hidden", **private
            )
            kept(answered)
            # the box was disabled while the answer ran, so the focus fell to the page: give it back, so the next
            # question can be typed at once (unless the reader has since clicked elsewhere)
            answered.then(unlocked, [turns], controls, queue=False, **private).then(None, None, None, js=REFOCUS_JS)
            # Gradio 6.31 runs no `.then` after an answer that failed (a dead model endpoint): the controls
            # stayed off and Stop on until a reload. `.failure` does run (tests/test_browser.py).
            answered.failure(unlocked, [turns], controls, queue=False, **private).then(None, None, None, js=REFOCUS_JS)
        popped = retry_btn.click(locked, None, controls, queue=False, **private).then(
            h.pop_last, [chat, turns], [question, chat, turns], **private
        )
        # nothing to retry: say so, unlocked
        popped.failure(unlocked, [turns], controls, queue=False, **private).then(None, None, None, js=REFOCUS_JS)
        retried = popped.success(h.respond, chat_inputs, chat_outputs, show_progress="hidden", **private)
        kept(retried)
        retried.then(unlocked, [turns], controls, queue=False, **private).then(None, None, None, js=REFOCUS_JS)
        retried.failure(unlocked, [turns], controls, queue=False, **private).then(None, None, None, js=REFOCUS_JS)
        # Stop asks the running answer to end (Handlers.respond checks between its events and while it waits):
        # Gradio's own `cancels` left the next click on Ask without effect.
        stop_btn.click(h.stop, None, None, queue=False, **private)
        for cleared in (clear_btn.click, chat.clear):  # the chat box's own trash icon clears all of it too
            kept(cleared(h.clear, None, [*chat_outputs, retry_btn], **private))
        app.load(h.restore, [saved], [chat, turns, sources, export_btn, status, retry_btn], **private).then(
            h.references_bibtex, [turns], [bibtex], **private
        )

        # The Settings survive a reload too: chosen once, they hold for the questions after it.
        chosen: list[gr.Radio | gr.Slider] = [answer_mode, retrieval_mode, top_k]
        for control in chosen:
            control.change(remembered_settings, chosen, [saved_settings], show_progress="hidden", **private)
        app.load(
            lambda kept: restored_settings(kept, [v for _, v in answer_mode_choices(assistant)], RETRIEVAL_MODES, top_k_range),
            [saved_settings], chosen, show_progress="hidden", **private,
        )

        # The table and count follow the search box, one event at a time, in the order they came: opening the tab
        # lists the papers for the search as it was, and that list, answered last, had overwritten the one for
        # "zebra" typed right after (the browser test, on loaded cores)
        in_order: dict[str, Any] = {"concurrency_id": "aa-papers-table", "concurrency_limit": 1}
        search.change(h.filter_papers, [search], [table, count], show_progress="hidden", **in_order, **private)
        export_papers_btn.click(h.export_papers, [search, export_format], [export_papers_file], **private)
        # A file of an earlier search or format is not the papers found now.
        for changed in (search.change, export_format.change):
            changed(lambda: gr.update(value=None, visible=False), None, [export_papers_file], show_progress="hidden", **private)
        papers_tab.select(h.filter_papers, [search], [table, count], show_progress="hidden", **in_order, **private)
        table.select(h.open_row, None, [pid, abstract], **private)
        pid.submit(h.open_id, [pid], [abstract], **private)
        add_btn.click(h.add_files, [upload, search], [add_report, table, count], **private)
        eval_btn.click(
            h.run_evaluation,
            [qfile, eval_modes, eval_k],
            [eval_summary, eval_retrieval, eval_answers, *eval_plots, eval_files],
            concurrency_limit=1,  # one evaluation at a time: it is long and CPU-bound
            **private,
        ).success(  # results in: show them, drop the empty state
            lambda: (gr.update(visible=True), gr.update(visible=True), gr.update(visible=True), gr.update(visible=False)),
            None,
            [eval_results, eval_plot_col, eval_files, eval_empty],
            **private,
        )
        qfile.change(  # the button says what it will score
            lambda f: gr.update(value=RUN_FILE if f else RUN_BUNDLED), [qfile], [eval_btn], **private
        )
        gr.api(h.ask, api_name="ask")
    return app


def launch(
    app: gr.Blocks,
    *,
    host: str = "127.0.0.1",
    port: int | None = 7860,
    auth: tuple[str, str] | None = None,
    block: bool = True,
) -> str:
    """Start the server and return its local URL; with `block=False` the call returns at once."""
    app.queue(default_concurrency_limit=CONCURRENCY)
    _, url, _ = app.launch(
        server_name=host,
        server_port=port,
        auth=auth,
        auth_message="Abstract Assistant: log in with the ASSISTANT_UI_AUTH credentials." if auth else None,
        prevent_thread_lock=not block,
        share=False,
        show_error=False,  # errors show as their gr.Error message, never as a traceback
        quiet=not block,
        ssr_mode=False,  # no Node server: nothing but this process serves the page
        mcp_server=False,
        # not Gradio's own "Settings": a second panel of that name beside ours, of Gradio's display and PWA options
        footer_links=["api"],
        theme=theme(),
        css=CSS,
        js=page_js(),
        head=TAB_HEAD,
    )
    return url
