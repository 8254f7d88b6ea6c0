"""Answers, source cards and abstracts as safe HTML for the page. Pure functions; no gradio here.

Model and abstract text is always shown as the literal text it is: every character HTML or markdown
could act on becomes an entity, so no tag, image or link survives. The only markup is what this module
writes: `[n]` links to in-page anchors, links to a paper's own http(s) URL, a model's paragraphs, lists,
headings, bold, italics and code (assistant/markdown.py reads them; never in an abstract's text), and math spans
(`<span class="aa-math">` holding the escaped LaTeX) that the page's script typesets with
the KaTeX Gradio bundles, untrusted (no \\href, \\url, \\includegraphics or HTML extensions).
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from urllib.parse import urlsplit

from ..cite import SENTENCE_END, cited_sentences, marked_sentences, uncited_claim
from ..latex import readable_latex
from ..types import Answer, Paper, Passage, venue_and_year, volume_and_pages
from ..markdown import blocks, has_blocks, runs

STAGES = {
    "retrieving": "Retrieving abstracts…",
    # The page's script counts the seconds in .aa-elapsed (style.ELAPSED_JS): a local model may read for a minute.
    "waiting": 'Waiting for the model… <span class="aa-elapsed"></span>',
    "rewriting": 'Reading the conversation with the model… <span class="aa-elapsed"></span>',
    "stopped": "Stopped; the question is back in the box.",
    "writing": "Writing the answer…",
    "fallback": "The model failed; answering from the abstracts…",
}
EMPTY_SOURCES = '<div class="aa-sources"><p class="aa-empty">The sources of an answer appear here.</p></div>'
_MARKER = re.compile(r"\[(\d+)\]")
_ENCODED_MARKER = re.compile(r"&#91;(\d+)&#93;")  # a marker after md_literal()
_CITE_LINK = re.compile(r'<a class="aa-cite" href="#[\w-]+" title="[^"]*">\[(\d+)\]</a>')

# `$` and backticks too: gr.HTML templates and markdown math/code use them. `:`, `/`, `.` and `@` stop
# the markdown renderer's autolinking of bare URLs, `www.` names and e-mail addresses.
_MD_ENTITIES = str.maketrans({c: f"&#{ord(c)};" for c in "&<>\"'`*_{}[]()#+-!|~$\\=:/.@"})


# Math as pandoc reads it: `$$…$$`, `\(…\)`, `\[…\]`, and `$…$` whose first and last characters are not
# spaces and whose closing `$` is not followed by a digit, so "costs $5 and $10" stays money.
_MATH = re.compile(
    r"\$\$(?P<dd>.+?)\$\$|\\\((?P<p>.+?)\\\)|\\\[(?P<b>.+?)\\\]"
    r"|(?<![\\$\w])\$(?=[^\s$])(?P<d>(?:[^$\\\n]|\\.)+?)(?<=[^\s\\])\$(?!\d)",
    re.S,
)
MAX_TEX = 400  # characters; longer "math" is a mismatched dollar, shown as text
# Text-mode emphasis outside math ("we introduce \\textit{symbolic autoencoding}") reads as its words.
_TEXT_STYLE = re.compile(r"\\(?:textit|textbf|emph|textsc|texttt|textrm|textsf|underline)\{([^{}$]*)\}")


def esc(text: object) -> str:
    """HTML-escape for gr.HTML (which is not markdown), also neutralising `$` and backticks."""
    return html.escape(str(text), quote=True).replace("$", "&#36;").replace("`", "&#96;")


def md_literal(text: str) -> str:
    """Text for a Chatbot bubble, shown verbatim: no HTML, no markdown (so no remote images), no math."""
    return text.translate(_MD_ENTITIES).replace("\n", "<br>")


def with_math(text: str, literal: Callable[[str], str] = esc) -> str:
    """`literal(text)`, except that each math span becomes an element the page typesets. The element holds
    the span, delimiters included, as literal text (Gradio's sanitiser drops data attributes), which is
    also what a reader sees until it is typeset or without script."""
    def prose(part: str) -> str:
        return literal(_TEXT_STYLE.sub(r"\1", part))

    out, pos = [], 0
    for m in _MATH.finditer(text):
        if m.end() - m.start() > MAX_TEX:
            continue
        display = m.group("dd") is not None or m.group("b") is not None
        out.append(prose(text[pos : m.start()]))
        out.append(f'<span class="aa-math{" aa-math-display" * display}">{literal(m.group(0))}</span>')
        pos = m.end()
    out.append(prose(text[pos:]))
    return "".join(out)


def md_math(text: str) -> str:
    """md_literal with math typeset (for Chatbot bubbles)."""
    return with_math(text, md_literal)


def md_inline(text: str) -> str:
    """A model's line as md_math shows it, with its bold, italics and code as such (markdown.runs)."""
    out = []
    for style, part in runs(text, _MATH):
        if style == "code":
            out.append(f"<code>{md_literal(part)}</code>")
        else:
            out.append(f"<{style}>{md_math(part)}</{style}>" if style else md_math(part))
    return "".join(out)


UNCITED = "This sentence cites no source: the abstracts may not say it"


def md_flagged(text: str) -> str:
    """md_inline, each sentence that makes a claim without citing a source (cite.uncited_claim: the same reading
    llm.model_support counts) marked as such, so a reader sees which part of a "partial" answer stands on nothing."""
    out = []
    for sentence in (s for s in SENTENCE_END.split(text.strip()) if s):
        shown = md_inline(sentence)
        out.append(f'<span class="aa-uncited" title="{UNCITED}">{shown}</span>' if uncited_claim(sentence) else shown)
    return " ".join(out)


def md_model(text: str, flag: bool = False) -> str:
    """A model's answer with the Markdown it wrote laid out (paragraphs, lists, headings, emphasis: assistant/markdown.py);
    everything else shown verbatim, as md_math shows it. `flag`: its uncited sentences marked (md_flagged)."""
    inline = md_flagged if flag else md_inline
    html_blocks = []
    for kind, items in blocks(text):
        if kind in ("ul", "ol"):
            html_blocks.append(f"<{kind}>" + "".join(f"<li>{inline(i)}</li>" for i in items) + f"</{kind}>")
        elif kind == "h":
            html_blocks.append(f'<p class="aa-heading">{md_inline(items[0])}</p>')
        else:
            html_blocks.append(f'<p class="aa-para">{inline(items[0])}</p>')
    return "".join(html_blocks)


def anchor(turn: int, n: int) -> str:
    """The id of source n's highlighted quote for one chat turn."""
    return f"src-{turn}-{n}"


def quote_anchor(turn: int, n: int, sentence: str) -> str:
    """The id of one quoted sentence of source n: where an [n] closing an answer sentence taken from it links."""
    return f"{anchor(turn, n)}-{hashlib.sha1(' '.join(sentence.split()).encode()).hexdigest()[:10]}"


HOVER_CHARS = 160  # characters of the title a marker shows on hover


def link_markers(
    encoded: str, turn: int, known: Mapping[int, str], targets: Iterator[tuple[int, str]] | None = None
) -> str:
    """Turn the entity-encoded `[n]` markers that resolve into in-page links to the quote; `known`: each
    resolving number's hover text (its paper's title and year, as a citation preview shows them); `targets`: the
    markers in order, each with the id of the quoted sentence it closes (render_answer), else source n's first."""

    def repl(m: re.Match[str]) -> str:
        n = int(m.group(1))
        marked, where = next(targets, (n, "")) if targets is not None else (n, "")
        if n not in known:
            return m.group(0)
        where = where if where and marked == n else anchor(turn, n)
        return f'<a class="aa-cite" href="#{where}" title="{esc(known[n])}">[{n}]</a>'

    return _ENCODED_MARKER.sub(repl, encoded)


def _clipped(text: str) -> str:
    return text if len(text) <= HOVER_CHARS else text[:HOVER_CHARS].rsplit(" ", 1)[0] + " …"


_LINKED_TURN = re.compile(r'href="#src-(\d+)-')


def retire_links(bubble: str, kept: Collection[int] = ()) -> str:
    """An earlier answer's `[n]` links as plain labels once its sources have left the panel: those of every
    turn not in `kept` (the turns whose sources render_panel still shows)."""

    def repl(m: re.Match[str]) -> str:
        turn = _LINKED_TURN.search(m.group(0))
        if turn and int(turn.group(1)) in kept:
            return m.group(0)
        return f'<span class="aa-cite-old" title="a source of an earlier answer">[{m.group(1)}]</span>'

    return _CITE_LINK.sub(repl, bubble)


def render_question(text: str) -> str:
    return f'<div class="aa-question">{md_literal(text)}</div>'


def render_progress(stage: str) -> str:
    return f'<div class="aa-answer aa-pending">{STAGES.get(stage, stage)}</div>'


_AFTER_MARKER = re.compile(r"(?<=\][.!?])\s+")  # between sentences that end on a marker


def by_paper(text: str) -> list[str] | None:
    """An answer drawing on several papers as one item per paper, as cited-answer apps list them: when every
    sentence ends on a single marker and each paper's sentences stand together; otherwise None (read as prose)."""
    groups: list[tuple[str, list[str]]] = []
    for sentence in (s for s in _AFTER_MARKER.split(text.strip()) if s):
        cited = set(_MARKER.findall(sentence))
        if len(cited) != 1 or not re.search(r"\[\d+\][.!?]$", sentence):
            return None
        n = cited.pop()
        if groups and groups[-1][0] == n:
            groups[-1][1].append(sentence)
        elif any(m == n for m, _ in groups):
            return None
        else:
            groups.append((n, [sentence]))
    return [" ".join(group) for _, group in groups] if len(groups) > 1 else None


# Under an answer the abstracts back only in part: said beside it, as cited-answer apps do, where a reader of the
# answer looks (the status line under the chat was easy to miss)
PARTIAL_CAVEAT = "Partly supported: the abstracts back this answer only in part; read the quoted sentences."


def render_answer(
    text: str,
    turn: int,
    answer: Answer | None = None,
    papers: Mapping[str, Paper] | None = None,
    model: bool = False,
    stored: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """A Chatbot bubble: the partial or final answer, markers linked (with the cited `papers`, each [n] to the
    sentence its answer sentence came from), abstentions marked. `model`: a model wrote the text, so its Markdown
    (lists, bold, …) is laid out; an abstract's sentences are shown as they are ("f_*" is not italics). `stored`:
    the papers' sentences as the store keeps them (cite.abstract_sentences)."""
    if answer is not None:
        # the paper, not a quote: a second [1] closes another sentence of that paper than the citation's quote
        known = {c.n: f"[{c.n}] {_clipped(readable_latex(c.title))}" + (f" ({c.year})" if c.year else "") for c in answer.citations}
    else:  # still streaming: the citations come with the final answer
        known = {int(n): f"show source {n}" for n in _MARKER.findall(text)}
    laid_out = model and has_blocks(text)  # the model's own layout, not one item per paper
    items = by_paper(text) if answer is not None and not answer.abstained and not laid_out else None
    targets = None
    if answer is not None and papers:  # each [n] to the sentence it closes: a later quote's own id, the first's is n's
        first = {c.n: " ".join(c.quote.split()) for c in answer.citations}
        targets = iter([
            (n, anchor(turn, n) if not sentence or " ".join(sentence.split()) == first.get(n) else quote_anchor(turn, n, sentence))
            for n, sentence in marked_sentences(text, answer.citations, papers, stored)
        ])
    # a model's final answer marks the sentences it left uncited (not while it streams: the marker may follow)
    flag = model and answer is not None and not answer.abstained
    inline = (md_flagged if flag else md_inline) if model else md_math
    if items:
        body = '<ul class="aa-by-paper">' + "".join(
            f"<li>{link_markers(inline(i), turn, known, targets)}</li>" for i in items
        ) + "</ul>"
    else:
        body = link_markers(md_model(text, flag) if laid_out else inline(text), turn, known, targets)
    if answer is not None and answer.abstained:
        body = f'<div class="aa-abstain"><div class="aa-abstain-label">Not answered by the abstracts</div>{body}</div>'
    else:
        body = f'<div class="aa-answer">{body}</div>'
    if answer is not None and not answer.abstained and answer.support == "partial":  # in the answer, not only the status line
        body += f'<div class="aa-notice aa-caveat">{PARTIAL_CAVEAT}</div>'
    if answer is not None and answer.notice:
        body += f'<div class="aa-notice">{md_literal(answer.notice)}</div>'
    if answer is not None and not answer.abstained:
        body += copy_tool(answer)
    return body


def copy_text(answer: Answer) -> str:
    """What Copy puts on the clipboard: the answer as written, what the page says under it (its notice; "Support:
    partial"), then its numbered references, as the export has them: pasted elsewhere, the caveat goes with it."""
    refs = [f"[{c.n}] {c.reference(readable_latex(c.title))}" for c in sorted(answer.citations, key=lambda c: c.n)]
    said = ["Support: partial"] * (answer.support == "partial")
    said += [f"Note: {' '.join(answer.notice.split())}"] if answer.notice else []
    return (
        answer.text.strip()
        + ("\n\n" + "\n".join(said) if said else "")
        + ("\n\nReferences:\n" + "\n".join(refs) if refs else "")
    )


def copy_tool(answer: Answer) -> str:
    """A Copy link under an answer (style.COPY_JS), with the text it copies beside it, hidden. The page cannot carry
    it in a data attribute (Gradio's sanitiser drops them); its newlines are entities, since a blank line in the
    bubble's HTML would end it as Markdown reads it."""
    hidden = md_literal(copy_text(answer)).replace("<br>", "&#10;")
    return (
        '<div class="aa-tools"><a href="#" class="aa-copy" title="Copy the answer with its references">Copy</a>'
        f'<span class="aa-copy-text">{hidden}</span></div>'
    )


def safe_url(url: str | None) -> str | None:
    """The paper's own http(s) URL, or None for anything else (javascript:, data:, relative...)."""
    if not url:
        return None
    url = url.strip()
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc and not any(c.isspace() for c in url) else None


def public_url(url: str) -> str:
    """A URL to show: scheme, host, port and path only (credentials and query strings may hold keys)."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if not parts.scheme or not host:
        return "(a URL that could not be read)"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _title(paper: Paper | None, title: str) -> str:
    """The title, its math typeset as a quote's is ("… for $\\ell_1$-Regularised …"), a link when it has one."""
    url = safe_url(paper.url) if paper else None
    if not url:
        return with_math(title)
    return f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer nofollow">{with_math(title)}</a>'


def highlight(abstract: str, quotes: Sequence[tuple[int, str]], turn: int) -> str:
    """Each cited quote as a short highlighted snippet that its [n] link points at, then the whole abstract
    on demand (folded) with the quotes marked in place."""
    linked: set[int] = set()
    snippets = ""
    for n, q in quotes:  # the first quote of n is where [n] leads; a further one, where the [n] closing it does
        target = anchor(turn, n) if n not in linked else quote_anchor(turn, n, q)
        linked.add(n)
        snippets += f'<p class="aa-quote"><mark id="{target}" title="quoted as [{n}]">{with_math(q.strip())}</mark></p>'

    spans: list[tuple[int, int, int]] = []
    for n, quote in quotes:
        q = quote.strip()
        start = abstract.find(q) if q else -1
        if start >= 0 and not any(s < start + len(q) and start < e for s, e, _ in spans):
            spans.append((start, start + len(q), n))
    out, pos = [], 0
    for start, end, n in sorted(spans):
        out.append(with_math(abstract[pos:start]))
        out.append(f'<mark class="aa-in-abstract" title="quoted as [{n}]">{with_math(abstract[start:end])}</mark>')
        pos = end
    out.append(with_math(abstract[pos:]))
    whole = f'<details class="aa-full"><summary>Whole abstract</summary><p class="aa-abstract">{"".join(out)}</p></details>'
    return snippets + (whole if abstract else "")


def relevance(passages: Sequence[Passage]) -> dict[str, tuple[int, int]]:
    """paper id -> (rank, relevance in %): the fused scores scaled so the first paper is 100% and the last
    retrieved 0%, in retrieval order, so no figure contradicts the ranking (raw fusion scores are z-score
    sums, negative as often as not, which read as nothing to a person)."""
    if not passages:
        return {}
    top, low = max(p.score for p in passages), min(p.score for p in passages)
    span = top - low
    return {
        p.paper_id: (rank, 100 if span <= 0 else round(100 * (p.score - low) / span))
        for rank, p in enumerate(passages, start=1)
    }


def _strength(percent: int) -> str:
    """Five dots; even the last paper retrieved gets one. No figure: "relevance 0%" on the last paper read as "not
    relevant", when it only came last of those retrieved."""
    filled = max(1, round(percent / 20))
    said = f"closeness to the question: {filled} of 5, relative to the other papers retrieved"
    return f'<span class="aa-strength" title="{said}" aria-label="{said}">{"●" * filled}{"○" * (5 - filled)}</span>'


# On a narrow screen the sources stack far below the answer: each card leads back to it (style.BACK_JS).
BACK_LINK = ' <a href="#" class="aa-back" title="Back to the answer">↑ answer</a>'


def _record(paper: Paper | None) -> list[str]:
    """A card's or list row's byline: the authors, then where and when the paper appeared, as far as known."""
    meta = [esc(", ".join(paper.authors))] if paper and paper.authors else []
    if paper and (when := _published(paper)):
        meta.append(when)
    return meta


def _card(
    paper: Paper | None, title: str, body: str, numbers: Sequence[int], ranked: tuple[int, int] | None,
    of: int, closest: bool,
) -> str:
    label = "".join(f"[{n}]" for n in numbers)
    meta = _record(paper)
    if ranked is not None:  # beside an abstention the dots would rate papers none of which answers: rank only
        meta.append(f"rank {ranked[0]} of {of}" + ("" if closest else f" {_strength(ranked[1])}"))
    if paper:
        meta.append(f'id <code>{esc(paper.id)}</code>')
    cls = "aa-card aa-closest" if closest else "aa-card"
    number = f'<span class="aa-n">{label}</span>' if label else ""
    return (
        f'<article class="{cls}"><header>{number}{_title(paper, title)}</header>'
        f'<div class="aa-meta">{" · ".join(meta)}{BACK_LINK}</div>{body}</article>'
    )


def _published(paper: Paper) -> str:
    """Where and when, as a reference reads: "NeurIPS 2021", "2021", or "" when neither is known."""
    return esc(venue_and_year(paper.venue, paper.year))


def render_sources(
    answer: Answer,
    papers: dict[str, Paper],
    turn: int,
    similar: Mapping[str, Sequence[Passage]] | None = None,
    stored: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """One card per cited paper (quotes highlighted, its nearest papers folded under it); for an abstention,
    the closest papers, styled apart; then the whole retrieved list, folded. `stored`: as for render_answer."""
    similar = similar or {}
    ranks, of = relevance(answer.passages), len(answer.passages)
    if answer.citations:
        grouped: dict[str, list[tuple[int, str]]] = {}
        titles: dict[str, str] = {}
        # Every abstract sentence the answer's sentences came from, not only each citation's quote: an
        # answer citing [1] twice shows both of [1]'s sentences.
        sentences = cited_sentences(answer.text, answer.citations, papers, stored=stored)
        for c in sorted(answer.citations, key=lambda c: c.n):
            grouped.setdefault(c.paper_id, []).append((c.n, c.quote))
            titles.setdefault(c.paper_id, c.title)
        for c in answer.citations:
            given = {q.strip() for _, q in grouped[c.paper_id]}
            grouped[c.paper_id] += [(c.n, s) for s in sentences.get(c.paper_id, []) if s.strip() not in given]
        cards = [
            _card(
                papers.get(pid),
                titles[pid],
                highlight(papers[pid].abstract if pid in papers else "", quotes, turn) + similar_list(similar.get(pid, ()), False),
                list(dict.fromkeys(n for n, _ in quotes)),  # each number once: "[2]", not "[2][2]" for two sentences
                ranks.get(pid),
                of,
                answer.abstained,
            )
            for pid, quotes in grouped.items()
        ]
    else:
        cards = [  # their abstracts folded: three whole abstracts that do not answer made the panel a wall of text
            _card(papers.get(p.paper_id), p.title, _folded(p.text), [], ranks.get(p.paper_id), of, True)
            for p in answer.passages
        ]
    if not cards:
        return '<div class="aa-sources"><p class="aa-empty">No sources.</p></div>'
    heading = "Closest papers — not an answer" if answer.abstained or not answer.citations else "Sources"
    cited = {c.paper_id for c in answer.citations}
    return (
        f'<div class="aa-sources"><h3>{heading} <span class="aa-count">{len(cards)}</span></h3>{"".join(cards)}'
        f"{render_retrieved(answer.passages, cited)}</div>"
    )


def render_reading(passages: Sequence[Passage], papers: Mapping[str, Paper]) -> str:
    """The papers a model is given, while it reads them and writes: the answer's cards replace them."""
    rows = []
    for p in passages:
        paper = papers.get(p.paper_id)
        meta = _record(paper)
        rows.append(f'<li>{open_link(p.paper_id, p.title)} <span class="aa-meta">{" · ".join(meta)}</span></li>')
    return (
        f'<div class="aa-sources aa-reading"><h3>Reading <span class="aa-count">{len(rows)}</span></h3>'
        f'<ol>{"".join(rows)}</ol></div>'
    )


EARLIER_KEPT = 10  # earlier answers whose sources stay in the panel (each a few kB of the page and its saved copy)


def render_panel(latest: str, earlier: Sequence[tuple[int, str, str]] = ()) -> str:
    """The sources panel: the last answer's sources, then each earlier answer's folded under its question,
    newest first (`earlier`: (turn, question, its render_sources), oldest first), so an earlier answer's [n]
    still opens its own quote (style.CITE_JS unfolds it)."""
    folds = "".join(
        f'<details class="aa-earlier" data-turn="{turn}"><summary>Answer {turn}: {esc(_clipped(question))}</summary>'
        f"{part}</details>"
        for turn, question, part in reversed(list(earlier)[-EARLIER_KEPT:])
    )
    return latest + (f'<div class="aa-earlier-list"><h3>Earlier answers</h3>{folds}</div>' if folds else "")


def _folded(text: str) -> str:
    return f'<details class="aa-fold"><summary>Abstract</summary><p class="aa-abstract">{with_math(text)}</p></details>'


def render_retrieved(passages: Sequence[Passage], cited: set[str]) -> str:
    """Every paper retrieval ranked for the question, best first."""
    if not passages:
        return ""
    ranks = relevance(passages)
    rows = "".join(
        f'<li>{open_link(p.paper_id, p.title)} <span class="aa-meta">{_strength(ranks[p.paper_id][1])}'
        f'{" · cited" * (p.paper_id in cited)}</span></li>'
        for p in passages
    )
    return f'<details class="aa-retrieved"><summary>{"The one retrieved paper" if len(passages) == 1 else f"All {len(passages)} retrieved papers"}</summary><ol>{rows}</ol></details>'


def paper_rows(papers: Sequence[Paper]) -> list[list[str]]:
    """Table rows [id, title, authors, year, link, sources] (the search is Assistant.search_papers)."""
    return [[p.id, p.title, ", ".join(p.authors), str(p.year or ""), p.url or "", ", ".join(p.sources)] for p in papers]


def open_link(pid: str, title: str) -> str:
    """A paper's title as a link the page's script opens in the Papers tab (style.OPEN_JS)."""
    return f'<a href="#" class="aa-open" data-paper="{esc(pid)}" title="Read this abstract">{with_math(title)}</a>'


def similar_list(similar: Sequence[Passage], open_: bool) -> str:
    """The nearest papers as a folded list: titles (a click opens one in the Papers tab), ids and cosines."""
    near = "".join(
        f'<li>{open_link(p.paper_id, p.title)} <span class="aa-meta">id <code>{esc(p.paper_id)}</code> · '
        f"cosine {p.score:.2f}</span></li>"
        for p in similar
    )
    state = " open" if open_ else ""
    return f'<details class="aa-similar"{state}><summary>Similar papers</summary><ol>{near}</ol></details>' if near else ""


def render_paper(paper: Paper | None, similar: Sequence[Passage] = (), missing: str = "") -> str:
    """One abstract to read, with its metadata and the papers most like it (`missing`: an id typed that
    no paper has)."""
    if paper is None and missing:
        return (f'<div class="aa-abstract-view aa-empty">No paper has the id <code>{esc(missing)}</code>; ids are '
                "the first column of the table.</div>")
    if paper is None:
        return '<div class="aa-abstract-view aa-empty">Select a row (or type an id) to read its abstract.</div>'
    meta = [esc(", ".join(paper.authors)) if paper.authors else "authors unknown"]
    if when := _published(paper):
        meta.append(when)
    meta += [esc(part) for part in (volume_and_pages(paper.volume, paper.issue, paper.pages), paper.publisher) if part]
    meta.append(f"id <code>{esc(paper.id)}</code>")
    meta.append("from " + esc(", ".join(paper.sources)))
    return (
        f'<div class="aa-abstract-view"><h3>{_title(paper, paper.title)}</h3>'
        f'<div class="aa-meta">{" · ".join(meta)}</div><p class="aa-abstract">{with_math(paper.abstract)}</p>'
        + similar_list(similar, True)
        + "</div>"
    )