"""The Assistant facade: what the CLI, the page, the evaluator and Python users call.

It is the composition root: it builds the store, the retrievers and one answer engine per set of
per-question settings from injected parts (settings, embedder, LLM), and nothing below imports it.
"""

from __future__ import annotations

import json
import logging
import operator
import re
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack, get_args

from .config import AnswerMode, RetrievalMode, Settings
from .corpus import combined, load_corpus, source_files
from .errors import ConfigError, CorpusError, InvalidQuestion, PaperNotFound
from .followup import Turn, check_history
from .text import SPELLING_VERSION
from .types import Answer, Event, Final, Header, IngestReport, Paper, ParseIssue, Passage

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.llms import LLM

    from .answer import AnswerEngine, TermWeights
    from .catalog import Catalog
    from .evaluate import EvalOptions, EvalResult
    from .exports import ExportFormat, KeyGroups
    from .filters import Filters
    from .retrieve import KeywordIndex, PaperRetriever
    from .sentences import SentenceMatrix
    from .store import Store

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?)")  # terminal colours, titles


# How often a serving process looks for an ingest by another process (`assistant ingest` beside
# `assistant serve`, or another instance on the same Chroma server); a look is one small store read.
FRESHNESS_S = 1.0
# Up to this many papers the Papers search keeps every record and matches substrings (at 10k, ~100 MB); past
# it, the header file and the keyword index (Assistant.search_papers).
WHOLE_SEARCH = 20_000


@dataclass
class _State:
    """Everything derived from the current store contents; swapped whole after an ingest, and with it
    the retrievers and engines built over it (one per retrieval mode, depth and answer mode asked for)."""

    papers: Catalog
    keyword: KeywordIndex
    weights: TermWeights
    sentences: SentenceMatrix
    checked: float = field(default_factory=time.monotonic)  # last look for another process's ingest
    retrievers: dict[tuple[str, int], PaperRetriever] = field(default_factory=dict)
    engines: dict[tuple[str, int, str], AnswerEngine] = field(default_factory=dict)


def _paper_ids(values: object) -> list[str]:
    """Paper ids as a list (_one_or_many), each a string."""
    ids = _one_or_many(values, "paper_ids")
    if not all(isinstance(pid, str) for pid in ids):
        raise TypeError("paper ids are strings (`assistant papers` lists them)")
    return ids


def _one_or_many(values: object, name: str) -> list[Any]:
    """A single path or id as a list of one: a plain string would otherwise be read a character at a time."""
    if isinstance(values, (str, Path)):
        return [values]
    if isinstance(values, bytes) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a list (or one string), not {type(values).__name__}")
    return list(values)  # a generator too: `ingest(folder.glob("*.bib"))`


def _checked_filters(filters: object) -> Filters | None:
    """`filters` as given, when it is Filters or None: a dict ({"year": "2020"}) failed deep inside with an
    AttributeError."""
    from .filters import Filters

    if filters is None or isinstance(filters, Filters):
        return filters
    raise TypeError(
        f"filters must be a Filters, e.g. Filters.parse(year=\"2020\", authors=[\"Rivera\"]) (from assistant.filters), "
        f"not {type(filters).__name__}"
    )


def _count(value: object, name: str, least: int = 1) -> int:
    """A whole number (a numpy integer too) of at least `least`."""
    try:
        number = operator.index(value) if not isinstance(value, bool) else None  # type: ignore[arg-type]  # TypeError below
    except TypeError:
        number = None
    if number is None or number < least:
        raise ConfigError(f"{name} must be a whole number of {least} or more, not {value!r}")
    return number


_SURROGATES = re.compile("[\ud800-\udfff]")


def clean_question(question: str, limit: int) -> str:
    """The question without control characters, or an InvalidQuestion saying what to do."""
    if not isinstance(question, str):
        raise InvalidQuestion("the question must be text")
    # Bytes that were not UTF-8 reach Python as lone surrogates (argv, stdin) and crashed the tokenizer: dropped.
    text = _CONTROL.sub(" ", _ANSI.sub("", _SURROGATES.sub("", question))).strip()
    if not text:
        raise InvalidQuestion(
            'the question is empty; ask about the papers in words, e.g. "Which papers study <a topic>?" or '
            '"What does the <title> paper propose?"'
        )
    if len(text) > limit:
        raise InvalidQuestion(
            f"the question is {len(text):,} characters; the limit is {limit:,} "
            "(shorten it; a server's owner sets the limit with ASSISTANT_MAX_QUESTION_CHARS)"
        )
    return " ".join(text.split())


requests_log = logging.getLogger("assistant.requests")  # `assistant serve` prints it: one line per answer


def _give_back_freed_memory() -> None:
    """Hand the heap pages freed by the parsed files back to the OS before the caches are built on top.
    CPython keeps freed small objects' pages, and glibc keeps freed heap: after parsing the 100k-line
    arXiv snapshot and dropping it, RSS stayed at 416 MB of 491 until `malloc_trim(0)` (188 MB, 0.03 s;
    benchmarks/RESULTS.md). Other C libraries have no such call: there this does nothing."""
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


@lru_cache(maxsize=1)
def _authorship_terms() -> frozenset[str]:
    """What "Who wrote it?" ("When was it published?") says besides pointing back: no topic of its own."""
    from .text import content_terms

    return frozenset(content_terms(
        "who wrote write written authors author paper papers work article study it this that one "
        "when where year published publish released release come came out appear appeared presented venue "
        "first second third fourth fifth last latter former reference source"
    ))


def _unrecorded(filters: Filters, headers: Collection[Header]) -> list[str]:
    """What the papers' records lack that the filters ask for ("74 of its 74 papers have no year"): why no
    paper matches may be the files, not the filters."""
    asked = [
        (bool(filters.first_year or filters.last_year), "year", lambda h: h.year is None),
        (bool(filters.venues), "venue", lambda h: h.venue is None),
        (bool(filters.authors), "authors", lambda h: not h.authors),
        (bool(filters.categories), "categories", lambda h: not h.categories),
    ]
    counts = [(what, sum(lacks(h) for h in headers)) for wanted, what, lacks in asked if wanted]
    return [f"{n} of its {len(headers)} papers {'has' if n == 1 else 'have'} no {what}" for what, n in counts if n]


def _log_request(answer: Answer, started: float) -> None:
    """One line per answered question, without the question (it may hold anything) or any key."""
    outcome = "abstained" if answer.abstained else f"{len(answer.citations)} cited · support {answer.support}"
    notice = " · with a notice" if answer.notice else ""
    requests_log.info("answer · %s · %.0f ms · %s%s", answer.mode, (time.perf_counter() - started) * 1000, outcome, notice)


# Words (stems) of a listing question that name no topic: the store and its papers ("Which papers in the
# collection …"), so a listing is ordered by relevance only when a topic is left (Assistant._listing).
_NOT_A_TOPIC = frozenset({
    "paper", "papers", "work", "works", "publish", "publication", "written", "write", "wrote", "togeth", "author",
    "year", "categori",
    "store", "collect", "librari", "corpus", "databas", "list", "show", "hold", "contain", "includ", "avail",
})


class Assistant:
    """Cited answers over a Chroma store of abstracts. Thread-safe; ingests the seeds on first use.

    Every part can be injected: `settings` (default: from the environment and .env), `embedder` (a
    LlamaIndex embedding; default: the local model the settings name) and `llm` (a LlamaIndex LLM that
    writes the answers; default: the one ASSISTANT_LLM configures, or none for offline extractive
    answers). An injected LLM turns on LLM answers even when the settings say extractive.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embedder: BaseEmbedding | None = None,
        llm: LLM | None = None,
        auto_ingest: bool = True,
    ) -> None:
        settings = settings or Settings()
        if llm is not None and settings.llm == "extractive":
            settings = settings.model_copy(update={"llm": "openai-compatible"})
        self.settings = settings
        self.auto_ingest = auto_ingest
        self._embedder = embedder
        self._llm = llm
        self._store: Store | None = None
        self._state: _State | None = None
        self._lock = threading.RLock()

    # -- plumbing -----------------------------------------------------------------------------
    @property
    def embedder(self) -> BaseEmbedding:
        if self._embedder is None:
            from .providers import build_embedder

            self._embedder = build_embedder(self.settings)
        return self._embedder

    @property
    def llm(self) -> LLM | None:
        """The model that writes answers (built from the settings on first use), or None when answers are extractive."""
        if self.settings.llm == "extractive":
            return None
        with self._lock:
            if self._llm is None:
                from .providers import build_llm

                self._llm = build_llm(self.settings)
            return self._llm

    def _open_store(self, rebuild: bool = False) -> Store:
        from .store import Store, StoreLayout

        with self._lock:
            if self._store is None or rebuild:
                if rebuild or not StoreLayout.at(Path(self.settings.store_dir)).marker.exists():
                    # A store is stamped with the model that builds it: a model that cannot load fails here, before a
                    # rebuild removes anything or a new store takes its name (`ingest --rebuild` with a mistyped
                    # ASSISTANT_EMBED_MODEL had emptied the store and stamped it with the typo)
                    _ = self.embedder
                self._store = Store(self.settings, rebuild=rebuild)
            return self._store

    def _ready(self) -> _State:
        state = self._state
        if state is not None and not self._changed_elsewhere(state):
            return state
        with self._lock:
            if self._state is state and state is not None:  # changed by another process: read it again
                self._store = self._open_store().reopened()
                self._state = self._load_state(self._store)
            if self._state is None:
                store = self._open_store()
                if store.count() == 0 and self.auto_ingest:
                    self._ingest_locked(None, rebuild=False, progress=None)
                if self._state is None:
                    self._state = self._load_state(store)
            return self._state

    def _changed_elsewhere(self, state: _State) -> bool:
        """Whether another process finished an ingest into this store since `state` was read: the saved
        corpus fingerprint (one small store read) is compared at most every FRESHNESS_S seconds."""
        now = time.monotonic()
        if now - state.checked < FRESHNESS_S:
            return False
        state.checked = now
        try:
            saved = self._open_store().saved_fingerprint()
        except Exception:  # unreachable store: the question itself will say so
            return False
        return bool(saved) and saved != state.papers.fingerprint  # "" while an ingest runs: keep answering

    def _load_state(self, store: Store) -> _State:
        from .answer import TermCounts, TermWeights
        from .catalog import Catalog, header_of
        from .retrieve import KeywordIndex
        from .sentences import SentenceMatrix

        layout = store.layout  # with a Chroma server, this instance's own caches
        papers = Catalog(store, layout.headers)  # records are read when an answer needs them, not at start
        if not papers:
            raise CorpusError(
                f"the store at {self.settings.chroma_url or self.settings.store_dir} has no abstracts; "
                "run `assistant ingest` (seeds) or `assistant ingest PATH` (your .txt/.jsonl/.csv files)"
            )

        # Only when a cache below is missing or stale: streamed, none kept. The pass that rebuilds the keyword
        # index counts the term weights and writes the headers on the way, so an ingest reads the store once
        # for all three.
        passes: list[TermCounts] = []  # the term counts of each finished pass
        headers = papers.header_file

        def every() -> Iterator[Paper]:
            tally = TermCounts()
            with headers.writer() if not headers.fresh() else nullcontext(lambda h: None) as keep:
                for stored in store.iter_stored():
                    tally.add(stored.paper)
                    keep(header_of(stored.paper))
                    yield stored.paper
            passes.append(tally)

        tokens = f"{papers.fingerprint}:spelling-{SPELLING_VERSION}"  # the same papers, tokenized another way: rebuilt
        keyword = KeywordIndex(tokens, every, path=layout.bm25)
        weights = TermWeights.cached(every, layout.term_df, tokens, counted=passes[0] if passes else None)
        # The vectors depend on the model too: a rebuild with another one keeps the fingerprint.
        key = f"{papers.fingerprint}:{json.dumps(store.signature(), sort_keys=True)}"
        sentences = SentenceMatrix.cached(layout.sentence_matrix, key, store.sentence_records())
        return _State(papers=papers, keyword=keyword, weights=weights, sentences=sentences)

    # -- corpus -------------------------------------------------------------------------------
    def ingest(
        self,
        paths: Sequence[str | Path] | None = None,
        *,
        rebuild: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> IngestReport:
        """Add, update and remove papers so the store matches the given files (default: the seeds)."""
        with self._lock:
            return self._ingest_locked(paths, rebuild=rebuild, progress=progress)

    def _ingest_locked(
        self, paths: Sequence[str | Path] | None, *, rebuild: bool, progress: Callable[[int, int], None] | None
    ) -> IngestReport:
        from .index import Indexer, outside_scope, within

        paths = _one_or_many(paths, "paths") if paths is not None else None
        scope = [Path(p).expanduser().resolve() for p in (paths or [self.settings.seeds_dir])]
        missing = [str(p) for p in scope if not p.exists()]
        if missing and (paths is not None or len(missing) == len(scope)):
            raise CorpusError(
                f"not found: {', '.join(missing)}; pass existing files or folders (.txt, .jsonl, .csv, .bib, .ris, ...) "
                "(the seeds folder is set by ASSISTANT_SEEDS_DIR)"
            )
        store = self._open_store(rebuild=rebuild)
        if paths is None and rebuild and store.previous and not any(
            within(p, scope) for held in store.previous for p in held.paths
        ):  # a bare rebuild of a store holding none of the seeds (only the user's files) embeds those, and adds none
            scope = []
        result = load_corpus(scope)
        paths_of: dict[str, list[str]] = {}
        by_name = {name: str(f.resolve()) for name, f in source_files(scope)}  # a paper's sources -> its files
        for paper in result.papers:
            paths_of[paper.id] = [by_name[s] for s in paper.sources if s in by_name]
        papers, dropped, unread = list(result.papers), 0, rebuild and store.previous is None
        # A rebuild's papers, or what a killed one had yet to embed again (store.py, PENDING).
        held_papers, store.previous = (store.previous or []) if rebuild else store.pending(), None
        read = {paper.id: i for i, paper in enumerate(papers)}
        for held in held_papers:
            # A rebuild embeds every paper again. One whose files were all read just now and no longer hold
            # it is gone, as a plain ingest would remove it; the others come back from their own records.
            if held.paper.id in paths_of:
                # ... and one read again from some of its files keeps what the others said (Indexer.sync does so
                # from the store, which a rebuild has emptied): a bare `ingest --rebuild` had left a paper the seeds
                # hold too without the authors, year and venue its .bib gave
                keep, outside = outside_scope(held.paper.sources, held.paths, scope)
                if keep:
                    paper = papers[read[held.paper.id]]
                    paper = paper.model_copy(update={"sources": list(dict.fromkeys(keep + paper.sources))})
                    papers[read[held.paper.id]] = combined(paper, held.paper)
                    paths_of[held.paper.id] = sorted(set(outside) | set(paths_of[held.paper.id]))
                continue
            if held.paths and all(within(p, scope) for p in held.paths):
                dropped += rebuild  # a resumed one's may be stored already: the sync counts those
                continue
            papers.append(held.paper)
            paths_of[held.paper.id] = list(held.paths)
        indexer = Indexer(store, self.embedder, self.settings)
        report = indexer.sync(papers, paths_of, scope, result.issues, progress)
        store.clear_pending()  # every paper it held is embedded again (or counted as removed)
        if dropped:
            report = report.model_copy(update={"removed": report.removed + dropped})
        if unread:  # a remark, not a skipped file: `skipped` was counted already
            note = ParseIssue(
                source=str(self.settings.store_dir),
                message="the old store could not be read, so only the files named (or the seeds) were ingested "
                "again: ingest any others you had added",
                kept=True,
            )
            report = report.model_copy(update={"issues": [*report.issues, note]})
        del result, papers, held_papers, paths_of, by_name  # the parsed files (~0.5 GB at 100k papers) before the caches are built
        _give_back_freed_memory()
        self._state = None if store.count() == 0 else self._load_state(store)
        return report

    def store_is_empty(self) -> bool:
        """Whether the store holds no paper (read as it is: an empty store does not ingest the seeds here)."""
        return self._open_store().count() == 0

    def needs_first_ingest(self) -> bool:
        """Whether the first question would ingest the seeds (auto_ingest on, store empty)."""
        return self.auto_ingest and self._state is None and self.store_is_empty()

    def papers(self, limit: int | None = None) -> list[Paper]:
        """Every paper in the store (read whole once, then kept), or only the first `limit`, in store order."""
        limit = _count(limit, "limit", least=0) if limit is not None else None
        catalog = self._ready().papers
        return catalog.first(limit) if limit is not None else list(catalog.all().values())

    def search_papers(self, query: str, limit: int) -> tuple[list[Paper], int]:
        """The first `limit` papers (store order) holding every word of `query` in their id, title, abstract,
        authors, sources, venue or year, and how many do. Up to WHOLE_SEARCH papers the records are kept and matched
        as substrings. Past that, reading every record took tens of seconds and ~1 GB at 100k papers, so a word
        matches the header file's id, title, authors, venue and year as a substring, or the keyword index's titles
        and abstracts as a whole (stemmed) word."""
        state = self._ready()
        catalog = state.papers
        matched = self._matching(state, query.lower().split())
        shown = catalog.many(matched[:limit])
        return [shown[pid] for pid in matched[:limit] if pid in shown], len(matched)

    @staticmethod
    def _matching(state: _State, typed: Sequence[str]) -> list[str]:
        """The ids of the papers holding every one of `typed` (lower-cased words), in store order (see
        search_papers)."""
        from .filters import VENUE_NAMES, fold
        from .listing import header_text, holds_words

        words = [fold(w) for w in typed]
        catalog = state.papers
        if len(catalog) <= WHOLE_SEARCH:
            return [pid for pid, p in catalog.all().items() if holds_words(p, words)]
        texts = {pid: header_text(h) for pid, h in catalog.headers().items()}  # once, however many words
        admitted: set[str] | None = None
        for word, as_typed in zip(words, typed):
            # The headers are folded; the keyword index holds words as written ("naïve"): both spellings.
            indexed = {*(state.keyword.containing(word) or ()), *(state.keyword.containing(as_typed) or ())}
            full = VENUE_NAMES.get(word)  # "neurips" finds "Advances in Neural Information Processing Systems"
            ids = {pid for pid, text in texts.items() if word in text or (full and full in text)} | indexed
            admitted = ids if admitted is None else admitted & ids
        return [pid for pid in texts if admitted is None or pid in admitted]

    def paper(self, paper_id: str) -> Paper | None:
        """One paper by id, or None when the store does not hold it. By id only: finding a cite key reads every
        record (catalog.ids_by_cite_key), which a lookup the page makes on every mistyped id must not do at 100k
        papers (test_index); `similar` and `export` take keys."""
        if not isinstance(paper_id, str):
            raise TypeError(f"a paper id is a string (`assistant papers` lists them), not {type(paper_id).__name__}")
        return self._ready().papers.get(paper_id)

    def sentences_of(self, paper_ids: Sequence[str]) -> dict[str, list[str]]:
        """Each paper's abstract in the sentences ingest split it into (those answers quote), by id; the ids the
        store does not hold are left out."""
        paper_ids = _paper_ids(paper_ids)
        return self._ready().sentences.texts_of(paper_ids)

    def similar(self, paper_id: str, k: int | None = None) -> list[Passage]:
        """The k papers most like `paper_id` (an id, or a cite key as `export` writes it), by their abstracts'
        vectors, nearest first, each as a passage with its cosine as score and its abstract as text."""
        (paper,) = self._named(_paper_ids([paper_id]))
        near = self.similar_to_each([paper.id], k)
        if paper.id not in near:
            raise PaperNotFound(f"no paper {paper_id!r} in the store; `assistant papers` lists the ids")
        return near[paper.id]

    def similar_to_each(self, paper_ids: Sequence[str], k: int | None = None) -> dict[str, list[Passage]]:
        """`similar` for several papers in one store search; the ids the store does not hold are left out."""
        paper_ids = _paper_ids(paper_ids)
        k = _count(k, "k") if k is not None else None
        state = self._ready()
        near = self._open_store().similar_papers(paper_ids, k or self.settings.top_k)
        known = state.papers.many(list(dict.fromkeys(pid for pairs in near.values() for pid, _ in pairs)))
        return {
            source: [
                Passage(paper_id=pid, title=known[pid].title, score=round(score, 6), text=known[pid].abstract)
                for pid, score in pairs
                if pid in known
            ]
            for source in dict.fromkeys(paper_ids)  # in the order asked (the store reads in its own)
            if (pairs := near.get(source)) is not None
        }

    def export(self, paper_ids: Sequence[str] | None = None, fmt: ExportFormat = "bibtex") -> str:
        """The papers (all of them for None, or `paper_ids`, ids or cite keys, in that order: none for an empty
        list) as BibTeX, RIS, CSV or CSL JSON ("csl")."""
        from .exports import export

        return self._exported(paper_ids, fmt, lambda papers, fmt, groups: export(papers, fmt, groups))

    def references(self, paper_ids: Sequence[str]) -> str:
        """The papers as BibTeX to cite (an answer's references; "" for none, an abstention's): no abstracts,
        nothing a manuscript's .bib does without (`export` writes whole records, to read back)."""
        from .exports import to_bibtex

        return self._exported(paper_ids, "bibtex", lambda papers, _, groups: to_bibtex(papers, abstracts=False, groups=groups))

    def _exported(
        self,
        paper_ids: Sequence[str] | None,
        fmt: ExportFormat,
        write: Callable[[Sequence[Paper], ExportFormat, KeyGroups], str],
    ) -> str:
        from .exports import FORMATS

        fmt = fmt.lower() if isinstance(fmt, str) else fmt  # type: ignore[assignment]
        if fmt not in FORMATS:
            raise ConfigError(f"export format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        groups = self._ready().papers.key_groups()  # a paper's cite key, whichever papers are exported with it
        if paper_ids is None:
            return write(self.papers(), fmt, groups)
        # An empty list is no paper: an abstention's references were once the whole store
        return write(self._named(_one_or_many(paper_ids, "paper_ids")), fmt, groups)

    def _named(self, names: Sequence[str]) -> list[Paper]:
        """The papers `names` give by id or by cite key (as `ask --bibtex` and `export` write it), in order. A
        paper named twice (an id given twice, or its id and its key) is one: two records under one cite key would
        be two entries to a reference manager."""
        catalog = self._ready().papers
        known = catalog.many(list(names))
        keyed = catalog.ids_by_cite_key() if any(name not in known for name in names) else {}  # reads every record
        ids = {name: name if name in known else keyed.get(name) for name in names}
        missing = [name for name, pid in ids.items() if pid is None]
        if missing:
            raise PaperNotFound(
                f"no paper {', '.join(map(repr, missing))} in the store (by id or cite key); `assistant papers` lists "
                "the ids, and `assistant export` writes every paper under its cite key"
            )
        order = [pid for pid in dict.fromkeys(ids.values()) if pid]
        found = catalog.many(order)  # a dict in the order the store returned them: put back in the order named
        return [found[pid] for pid in order]

    def paper_count(self) -> int:
        return len(self._ready().papers)

    def warm(self) -> None:
        """Open the store (ingesting the seeds on first use), load the model and Chroma's vector indexes
        (seconds at 100k papers, on the first query), before a first visitor waits."""
        self.retrieve("warm up", k=1)

    def evaluate(self, path: str | Path, **options: Unpack[EvalOptions]) -> EvalResult:
        """Score a question file (assistant/evaluate.py; options: modes, k, out, judge, progress); writes
        the report when `out` is given. The default judge is the answer LLM, if any."""
        from .evaluate import run_eval  # the evaluation stack loads only when evaluating (cold start)

        return run_eval(self, path, **options)

    # -- questions ----------------------------------------------------------------------------
    def settings_for(
        self, retrieval_mode: RetrievalMode | None = None, top_k: int | None = None, llm: AnswerMode | None = None
    ) -> Settings:
        """These settings with one question's overrides (the page's Settings panel); an LLM can only be turned off."""
        if retrieval_mode is not None and retrieval_mode not in get_args(RetrievalMode):
            raise ConfigError(f"retrieval mode must be one of {', '.join(get_args(RetrievalMode))}")
        if top_k is not None and not 1 <= top_k <= 50:
            raise ConfigError("top-k must be between 1 and 50")
        if llm is not None and llm not in get_args(AnswerMode):
            raise ConfigError(f"answer mode must be one of {', '.join(get_args(AnswerMode))}, not {llm!r}")
        if llm is not None and llm not in ("extractive", self.settings.llm):
            raise ConfigError(f"answer mode {llm!r} is not configured; set ASSISTANT_LLM={llm} to use it")
        changes = {"retrieval_mode": retrieval_mode, "top_k": top_k, "llm": llm}
        changes = {key: value for key, value in changes.items() if value is not None}
        return self.settings.model_copy(update=changes) if changes else self.settings

    def _retriever(self, state: _State, mode: RetrievalMode, k: int, filters: Filters | None = None) -> PaperRetriever:
        """The retriever for this mode and depth over the current store, built once per state (a filtered
        one per question: it is a few references)."""
        from .retrieve import PaperRetriever

        if filters:
            store = self._open_store()
            return PaperRetriever(
                store, self.embedder, state.keyword, state.sentences, state.papers, self.settings, mode, k, filters
            )
        with self._lock:
            if (mode, k) not in state.retrievers:
                store = self._open_store()
                state.retrievers[(mode, k)] = PaperRetriever(
                    store, self.embedder, state.keyword, state.sentences, state.papers, self.settings, mode, k
                )
            return state.retrievers[(mode, k)]

    def _engine(self, state: _State, settings: Settings, filters: Filters | None = None) -> AnswerEngine:
        """The answer engine for one question's settings, assembled once per state from its parts (with
        filters, for that question only: a filtered retriever is a few references)."""
        if filters:
            return self._assemble(state, settings, filters)
        key = (settings.retrieval_mode, settings.top_k, settings.llm)
        with self._lock:
            if key not in state.engines:
                state.engines[key] = self._assemble(state, settings, None)
            return state.engines[key]

    def _assemble(self, state: _State, settings: Settings, filters: Filters | None) -> AnswerEngine:
        from .answer import ExtractiveComposer, ExtractiveEngine
        from .providers import everyday_words
        from .spelling import Speller
        from .text import stem

        retriever = self._retriever(state, settings.retrieval_mode, settings.top_k, filters)
        composer = ExtractiveComposer(settings, state.sentences.of, state.weights)
        speller = Speller(stem, state.weights.df, everyday_words(settings.embed_model))
        if settings.llm == "extractive":
            return ExtractiveEngine(retriever, composer, state.papers, settings.settings_hash(), speller)
        from .llm import LLMEngine  # the openai client and httpx load only for LLM answers

        llm = self.llm
        assert llm is not None  # settings.llm names a model
        return LLMEngine(retriever, composer, state.papers, llm, settings, speller)

    def retrieve(
        self, question: str, k: int | None = None, mode: RetrievalMode | None = None, filters: Filters | None = None
    ) -> list[Passage]:
        """The k most relevant papers (of those `filters` admit), one passage each, best first."""
        from llama_index.core.schema import QueryBundle

        from .answer import to_passages

        text = clean_question(question, self.settings.max_question_chars)
        filters = _checked_filters(filters)
        if mode is not None and mode not in get_args(RetrievalMode):
            raise ConfigError(f"retrieval mode must be one of {', '.join(get_args(RetrievalMode))}, not {mode!r}")
        k = _count(k, "k") if k is not None else None  # no upper bound: `retrieve -k 100` lists 100
        state = self._ready()
        retriever = self._retriever(state, mode or self.settings.retrieval_mode, k or self.settings.top_k, filters)
        return to_passages(retriever.retrieve(QueryBundle(query_str=text)))  # the retriever embeds it

    def ask(
        self, question: str, history: Sequence[Turn] | None = None, filters: Filters | None = None, **overrides: Any
    ) -> Answer:
        """A cited answer, or an abstention naming the closest papers (`filters`: only papers they admit;
        `overrides`: see settings_for)."""
        settings = self.settings_for(**overrides)
        text = clean_question(question, self.settings.max_question_chars)
        check_history(history)
        started = time.perf_counter()
        state = self._ready()
        filters = _checked_filters(filters) or self._placed(state, text)
        direct = self._direct(state, text, filters, settings, history)
        answer = direct or self._engine(state, settings, filters).answer(text, history)
        _log_request(answer, started)
        return answer

    def stream(
        self, question: str, history: Sequence[Turn] | None = None, filters: Filters | None = None, **overrides: Any
    ) -> Iterator[Event]:
        """Typed events: status notes, text deltas, then the Final answer (`overrides`: see settings_for)."""
        settings = self.settings_for(**overrides)
        text = clean_question(question, self.settings.max_question_chars)
        check_history(history)
        started = time.perf_counter()
        state = self._ready()
        filters = _checked_filters(filters) or self._placed(state, text)
        direct = self._direct(state, text, filters, settings, history)
        events = iter([Final(answer=direct)]) if direct is not None else self._engine(state, settings, filters).stream(text, history)
        for event in events:
            if isinstance(event, Final):
                _log_request(event.answer, started)
            yield event

    @staticmethod
    def _placed(state: _State, question: str) -> Filters | None:
        """"What did the ICML 2019 paper on attention propose?": its venue and year filter the papers read,
        when the store has such papers (the question's own filters, as if given with --venue and --year)."""
        from .listing import placed_paper_filters

        return placed_paper_filters(question, state.papers.headers)

    def _direct(
        self, state: _State, question: str, filters: Filters | None, settings: Settings, history: Sequence[Turn] | None = None
    ) -> Answer | None:
        """An answer that needs no engine: no paper matches the filters, or a metadata question (`history`: the
        conversation a "Who wrote it?" points back into)."""
        return (
            self._unmatched(state, question, filters, settings)
            or self._listing(state, question, filters, settings, history)
            or self._topic_count(state, question, filters, settings)
            or self._authorship(state, question, filters, settings, history)
        )

    def _topic_count(self, state: _State, question: str, filters: Filters | None, settings: Settings) -> Answer | None:
        """"How many papers are about diffusion models?": the papers whose title or abstract hold the topic's
        words (stemmed, as the Papers tab's search matches them), counted, and the closest listed. What an
        abstract is "about" has no sharper measure than the words it uses; the answer says which it counted."""
        from .listing import counted_topics, list_papers, mentions_topic
        from .text import stem

        topics = counted_topics(question)
        if topics is None:
            return None
        headers = state.papers.headers()
        found: set[str] = set()
        whole = state.papers.all() if len(state.papers) <= WHOLE_SEARCH else None
        for topic in topics:  # "dropout or batch norm": either
            if whole is not None:  # whole words in a row: not "RL" in "world", nor "batch norm" in "mini-batch … norm"
                found |= {pid for pid, p in whole.items() if mentions_topic(topic, f"{p.title} {p.abstract}")}
            else:
                found |= set(self._matching(state, [stem(w) if w.isalpha() else w for w in topic]))
        matching = [h for pid, h in headers.items() if (not topics or pid in found) and (not filters or filters.admits(h))]
        said = " or ".join("“" + " ".join(t) + "”" for t in topics)
        within = f" within the filters ({filters.describe()})" if filters else ""
        n = len(matching)
        if not topics:
            head = f"The store holds {n} paper{'' if n == 1 else 's'}{within}"
        else:
            head = f"{n} paper{'' if n == 1 else 's'} in the store{within} mention{'s' if n == 1 else ''} {said} in the title or abstract"
        if not matching:
            text = f"{head}."
            return Answer(question=question, text=text, raw_text=text, citations=[], abstained=False,
                          settings_hash=settings.settings_hash(), support="strong", mode="metadata")

        def ranked() -> Sequence[Header]:  # the closest to the question first, then the rest in store order
            near = [p.paper_id for p in self.retrieve(question, k=min(len(matching), settings.top_k * 4), filters=filters)]
            admitted = {h.id: h for h in matching}
            return [admitted[pid] for pid in near if pid in admitted] + [h for h in matching if h.id not in near]

        return list_papers(question, "", matching, state.papers.many, settings.settings_hash(), settings.top_k,
                           ranked if topics else None, head=head)

    def _authorship(
        self, state: _State, question: str, filters: Filters | None, settings: Settings, history: Sequence[Turn] | None
    ) -> Answer | None:
        """"Who wrote the paper on …?" ("When was it published?"): the extractive answer decides whether the store
        has that paper (or abstains as for any question), then its first cited paper's author list (year and
        venue) answers."""
        from .answer import needs_earlier
        from .answer import introduces
        from .listing import (
            asks_for_authors,
            asks_for_publication,
            authors_answer,
            joined_records,
            made_elsewhere,
            publication_answer,
            who_made,
        )

        made = who_made(question)

        def maker(question: str, answered: Answer, paper: Paper, settings_hash: str) -> Answer:
            """"Who proposed X?": the authors of the paper that introduces X (of those the answer cites or found, in
            its order: "Who proposed prior-data fitted networks?" cited a paper applying them), and no one else's."""
            found = [*(c.paper_id for c in answered.citations), *(p.paper_id for p in answered.passages)]
            cited = [p for pid in dict.fromkeys(found) if (p := state.papers.get(pid)) is not None]
            maker_paper = next((p for p in [paper, *cited] if made and introduces(p, made)), None)
            if maker_paper is not None:
                return authors_answer(question, answered, maker_paper, settings_hash)
            return made_elsewhere(question, made or "", answered, paper, settings_hash)

        if made:
            record = maker
        elif asks_for_authors(question):
            record = authors_answer
        elif asks_for_publication(question):
            record = publication_answer
        else:
            return None

        if (unresolved := needs_earlier(question, history, settings.settings_hash())) is not None:
            return unresolved  # "Who wrote the second one?" after an answer citing one
        extractive = settings.model_copy(update={"llm": "extractive"})  # a metadata answer needs no LLM
        earlier = self._first_cited(state, question, history, filters, settings)  # "Who wrote it?"
        # a question with a topic of its own is answered on it alone: "Who wrote the paper on grokking?" after an
        # NTK question searched "… neural tangent kernel … Who wrote the paper on grokking?" and named the NTK paper
        answered = self._engine(state, extractive, filters).answer(question, history if earlier else None)
        if earlier:  # "Who wrote them?": each paper the last answer cited, in its order
            strong = answered.model_copy(update={"support": "strong"})
            records = [record(question, strong, paper, settings.settings_hash()) for paper in earlier]
            if len(records) == 1 and records[0].abstained:
                # "Who wrote it?" when the paper cited first has no author list: the record of each other paper that
                # answer cited, after saying so (it said only that the first had none, the second's authors on its card)
                from .filters import Filters

                others = [p for h in self._cited_within(state, history, Filters(), settings) or []
                          if h.id != earlier[0].id and (p := state.papers.get(h.id)) is not None]
                records += [r for r in (record(question, strong, p, settings.settings_hash()) for p in others) if not r.abstained]
            return joined_records(records)
        if answered.abstained or not answered.citations:
            # "Who wrote the lottery ticket paper?" of a paper whose abstract is one short sentence: its title says it
            if (titled := self._titled(state, question, answered)) is None:
                return answered
            return record(question, answered.model_copy(update={"support": "strong"}), titled, settings.settings_hash())
        paper = state.papers.get(answered.citations[0].paper_id)
        if paper is None:
            return answered
        if self._names_title(question, paper):  # "Who wrote the Weight Compander paper?" was "support: partial": its
            answered = answered.model_copy(update={"support": "strong"})  # few words matched a sentence, not the title
        return record(question, answered, paper, settings.settings_hash())

    @classmethod
    def _titled(cls, state: _State, question: str, answered: Answer) -> Paper | None:
        """The closest paper, when its title holds every word of the question's topic ("Who wrote the paper on the
        lottery ticket hypothesis?"): a metadata question names its paper, whatever the abstract's sentences say."""
        paper = state.papers.get(answered.passages[0].paper_id) if answered.passages else None
        return paper if paper and cls._names_title(question, paper) else None

    @staticmethod
    def _names_title(question: str, paper: Paper) -> bool:
        """Whether the paper's title holds every word of a metadata question's topic."""
        from .text import content_terms

        topic = set(content_terms(question)) - _authorship_terms()
        return bool(paper.has_title and topic and topic <= set(content_terms(paper.title)))

    def _cited_within(
        self, state: _State, history: Sequence[Turn] | None, filters: Filters, settings: Settings
    ) -> list[Header] | None:
        """The papers the last answer citing any cited, those the filters admit, in its order: each found by what
        the answer said from it, as `_first_cited` finds them ([] with no conversation, or none admitted; None when
        it cited papers none of which is found). "Summarize these papers" after one abstained: a listing's question
        names no topic for a follow-up's search."""
        from .followup import previous_answers, said_from_each

        each = next((e for answer in reversed(previous_answers(history)) if (e := said_from_each(answer))), {})
        headers = state.papers.headers()
        cited = [headers[p.id] for p in self._said_from(state, list(each.values()), None, settings) if p.id in headers]
        if each and not cited:
            return None
        return [h for h in cited if filters.admits(h)]

    def _said_from(
        self, state: _State, texts: Sequence[str], filters: Filters | None, settings: Settings
    ) -> list[Paper]:
        """The paper each of an answer's texts was said from (once each, in order): the one of the three a search
        for it finds first that holds the text."""
        from .answer import the_papers_said

        retriever = self._retriever(state, settings.retrieval_mode, settings.top_k, filters) if texts else None
        papers: list[Paper] = []
        for said in texts:
            found = [p for p in (state.papers.get(n.node.node_id) for n in retriever.retrieve(said)[:3]) if p]  # type: ignore[union-attr]
            papers += [p for p in the_papers_said([said], found)[:1] if p not in papers]
        return papers

    def _by_the_same_authors(
        self, state: _State, question: str, history: Sequence[Turn] | None, filters: Filters | None, settings: Settings
    ) -> Answer | None:
        """"What else has the first author written?", "Other papers by the same authors?" after an answer: the
        store's other papers by the first author (or by any author) of the paper that answer cited first, newest
        first. It had searched the words and said no other paper addressed them."""
        from .filters import Filters
        from .followup import first_cited_text
        from .latex import readable_latex
        from .listing import list_papers, same_authors_asked

        which = same_authors_asked(question)
        first = first_cited_text(history) if which is not None else None
        cited = self._said_from(state, [first], None, settings)[:1] if first else []
        if not cited or not cited[0].authors:
            return None  # nothing cited, or no author list to go by: asked as any question
        paper = cited[0]
        people = paper.authors[:1] if which == "first" else paper.authors
        by = Filters(authors=tuple(people), whole_names=True)
        matching = [h for h in state.papers.headers().values()
                    if h.id != paper.id and by.admits(h) and (not filters or filters.admits(h))]
        names = people[0] if len(people) == 1 else f"{', '.join(people[:-1])} or {people[-1]}"
        role = "the first author" if which == "first" else ("the author" if len(people) == 1 else "the authors")
        of = f"“{readable_latex(paper.title)}”"
        if not matching:
            text = f"The store holds no other paper by {names} ({role} of {of})."
            return Answer(question=question, text=text, raw_text=text, citations=[], abstained=True,
                          settings_hash=settings.settings_hash(), mode="metadata")
        n = len(matching)
        head = f"{n} other paper{'' if n == 1 else 's'} in the store {'is' if n == 1 else 'are'} by {names} ({role} of {of})"
        return list_papers(question, "", matching, state.papers.many, settings.settings_hash(), settings.top_k, head=head)

    def _first_cited(
        self, state: _State, question: str, history: Sequence[Turn] | None, filters: Filters | None, settings: Settings
    ) -> list[Paper]:
        """For a question about authorship that names no topic of its own ("Who wrote it?", "Who are the
        authors?"; not "Who wrote the paper on grokking?"), the paper the last answer cited first, or the one it
        points at ("Who wrote the second one?"), or every paper it cited ("Who wrote them?"): each found by what
        the answer said from it, the paper's own sentence (the follow-up's search for "What is grokking? Who wrote
        it?" ranked another paper first)."""
        from .followup import cited_paper_text, cited_texts, first_cited_text, previous_answers
        from .text import content_terms

        if not previous_answers(history) or set(content_terms(question)) - _authorship_terms():
            return []
        first = first_cited_text(history)  # the latest answer that cited a paper: a refusal between cites none
        texts = cited_texts(question, history) or [t for t in [cited_paper_text(question, history) or first] if t]
        return self._said_from(state, texts, filters, settings)

    def _listing(
        self, state: _State, question: str, filters: Filters | None, settings: Settings,
        history: Sequence[Turn] | None = None,
    ) -> Answer | None:
        """A metadata question ("papers by Rivera", "published in 2024") answered from the metadata; "What did
        Rivera propose?" and "What is each about?" with what each paper is about (prose.gist). With filters set,
        "What do the authors propose?" or "Summarize these papers" asks about the papers the filters admit (a
        question with no topic, which retrieval cannot rank by), unless it follows an answer citing some of them
        (`history`): then it asks about those."""
        from .answer import asks_for_summary
        from .filters import Filters, fold
        from .listing import (
            GIST_TERMS,
            asks_for_a_list,
            asks_for_gist,
            list_papers,
            metadata_filters,
        )
        from .prose import gist
        from .text import content_terms

        if (by_them := self._by_the_same_authors(state, question, history, filters, settings)) is not None:
            return by_them
        gisted = asks_for_gist(question)
        asked = metadata_filters(question, state.papers.headers)
        if asked is None:
            # "Which papers are here?" with --author Rivera: the papers the filters admit (it abstained)
            # "What did the JMLR paper prove?": its venue and year are the filters it placed, no topic
            placed = {fold(v) for v in filters.venues} | {str(y) for y in (filters.first_year, filters.last_year) if y} if filters else set()
            untopical = set(content_terms(question)) - placed <= _NOT_A_TOPIC | (GIST_TERMS if gisted else frozenset())
            if not (filters and untopical and (asks_for_a_list(question) or gisted)):
                return None
            asked = Filters()
            # "Summarize these papers" after an answer: the papers it cited that the filters admit (searched as a
            # follow-up, a listing's question had no topic to search by, and the answer abstained)
            cited = self._cited_within(state, history, filters, settings) if gisted and not asks_for_a_list(question) else []
            if cited is None:  # it points back at papers it cannot find: asked as a follow-up
                return None
            if cited:
                n = len(cited)
                head = (f"Of the papers the last answer cited, {n} {'matches' if n == 1 else 'match'} the filters "
                        f"({filters.describe()})")
                return list_papers(question, "", cited, state.papers.many, settings.settings_hash(), settings.top_k,
                                   lambda: cited, head=head, describe=lambda paper: gist(paper, 3 if n <= 2 else 1))

        def admits(header: Header) -> bool:  # what the question asks for, within the filters set beside it
            return asked.admits(header) and (not filters or filters.admits(header))

        within = f"the filters ({filters.describe()})" if filters else ""
        wanted = f"{asked.describe()} within {within}" if asked and within else asked.describe() or within
        headers = state.papers.headers()
        matching = [h for h in headers.values() if admits(h)]
        if not matching:
            missing = _unrecorded(asked, headers.values())
            text = f"No paper in the store matches {wanted}" + (f"; {'; '.join(missing)}." if missing else ".")
            return Answer(question=question, text=text, raw_text=text, citations=[], abstained=True,
                          settings_hash=settings.settings_hash(), mode="metadata")
        # the filters' own words, those the question placed too ("the JMLR paper")
        said = [a.lower() for f in (asked, filters) if f for a in (*f.authors, *f.categories, *f.venues)]
        topic = [t for t in content_terms(question) if t not in _NOT_A_TOPIC and not t.isdigit() and not any(t in a for a in said)]
        ranked = None
        # "papers by Rivera on kernel methods", "papers from 2021 on transformers": by relevance; "Summarize these
        # papers" names no topic to rank by (ranked, it listed the one of Rivera's six the store's closest ten held)
        if set(topic) - (GIST_TERMS if gisted else frozenset()):

            def ranked() -> Sequence[Header]:
                found = self.retrieve(question, k=settings.answer_papers * 2, filters=asked or filters)
                headers = state.papers.headers()
                return [headers[p.paper_id] for p in found if p.paper_id in headers and admits(headers[p.paper_id])] or matching

        most = 3 if asks_for_summary(question) and len(matching) <= 2 else 1  # "Summarize it": more than its gist
        # ... not "Which papers from 2019 study attention?", which asks for papers on a topic: their titles say it
        describe = (lambda paper: gist(paper, most)) if gisted and not set(topic) - GIST_TERMS else None
        return list_papers(
            question, wanted, matching, state.papers.many, settings.settings_hash(), settings.top_k, ranked, describe=describe
        )

    @staticmethod
    def _unmatched(state: _State, question: str, filters: Filters | None, settings: Settings) -> Answer | None:
        """The answer when no paper passes the filters: says so, instead of abstaining as if off-topic."""
        if not filters or any(filters.admits(h) for h in state.papers.headers().values()):
            return None
        missing = _unrecorded(filters, state.papers.headers().values())  # "2021" where no paper has a year
        text = f"No paper in the store matches the filters ({filters.describe()}); {'; '.join([*missing, 'widen or drop them.'])}"
        return Answer(question=question, text=text, raw_text=text, citations=[], abstained=True,
                      settings_hash=settings.settings_hash(), mode=settings.llm)
