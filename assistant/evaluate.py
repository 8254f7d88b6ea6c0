"""Run a question file through every retrieval mode (beside the stock LlamaIndex pipeline) and
through `ask`, scoring each case; metrics live in metrics.py, the report files in report.py."""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, Unpack, cast

from .cite import cited_sentences
from .errors import AssistantError, ConfigError, LLMUnavailable
from .evalmodels import CaseAnswer, CaseRetrieval, CaseRow, EvalReport
from .metrics import (
    citation_precision,
    citation_recall,
    cited_sentence_share,
    cosine,
    dedupe,
    evidence_hit,
    evidence_overlaps,
    mean,
    rank_scores,
    require_ranx,
    rouge_l,
    strip_markers,
    unresolved_markers,
)
from .providers import llm_host
from .questions import EvalCase, QuestionFileError, load_questions
from .report import answer_table, build_report, default_out_dir, retrieval_table, write_report
from .types import Answer, Paper, ParseIssue, Passage

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.llms import LLM

    from .config import RetrievalMode, Settings


class Evaluable(Protocol):
    """What an evaluation needs of the assistant (api.Assistant is one); defined here so imports flow one way."""

    @property
    def settings(self) -> Settings: ...

    @property
    def embedder(self) -> BaseEmbedding: ...

    def papers(self) -> list[Paper]: ...

    def retrieve(self, question: str, k: int | None = None, mode: RetrievalMode | None = None) -> list[Passage]: ...

    @property
    def llm(self) -> LLM | None: ...

    def ask(self, question: str) -> Answer: ...


class EvalOptions(TypedDict, total=False):
    """What run_eval (and Assistant.evaluate) take besides the question file."""

    modes: str | Sequence[str] | None  # default: every mode, the stock LlamaIndex baseline included
    k: int  # recall@k's k (default 5)
    out: str | Path | None  # where the report files go (default: none written)
    judge: LLM | None  # adds LLM-judged faithfulness and correctness (default: the answer LLM, if any)
    progress: Callable[[int, int], None] | None  # called with (done, total) after each case


__all__ = [  # the tables and out-dir helper are re-exported for the CLI and the page
    "DEFAULT_MODES", "STOCK", "EvalResult", "Evaluable", "QuestionFileError", "StockBaseline", "answer_table",
    "default_out_dir", "parse_modes", "retrieval_table", "run_eval",
]

STOCK = "llamaindex-stock"
RETRIEVAL_MODES = ("bm25", "dense", "hybrid")
DEFAULT_MODES = (*RETRIEVAL_MODES, STOCK)
DEPTH = 10  # papers ranked per question: enough for MRR and nDCG@10


# -- the stock LlamaIndex baseline ------------------------------------------------------------------
class StockBaseline:
    """The stock LlamaIndex pipeline: a VectorStoreIndex over the abstracts (default SentenceSplitter,
    in-memory vector store, the same embedder), its retriever, hits de-duplicated to papers."""

    def __init__(self, papers: Sequence[Paper], embedder: BaseEmbedding, top_k: int = DEPTH) -> None:
        from llama_index.core import Document, VectorStoreIndex
        from llama_index.core.node_parser import SentenceSplitter

        documents = [
            Document(
                text=p.abstract,
                metadata={"paper_id": p.id},
                excluded_embed_metadata_keys=["paper_id"],  # the id is bookkeeping, not content
                excluded_llm_metadata_keys=["paper_id"],
            )
            for p in papers
        ]
        index = VectorStoreIndex.from_documents(documents, embed_model=embedder, transformations=[SentenceSplitter()])
        self._retriever = index.as_retriever(similarity_top_k=top_k)

    def rank(self, question: str) -> list[str]:
        return dedupe(str(hit.node.metadata["paper_id"]) for hit in self._retriever.retrieve(question))


# -- running an evaluation --------------------------------------------------------------------------
@dataclass
class EvalResult:
    """What one evaluation produced: the report (report.json), per-question rows (failures first),
    the question-file issues, and where the files went (None when not written)."""

    report: EvalReport
    rows: list[CaseRow]
    issues: list[ParseIssue]
    out_dir: Path | None = None


def parse_modes(modes: str | Sequence[str] | None) -> list[str]:
    """Validated retrieval modes, e.g. from `--modes bm25,dense,hybrid`."""
    if modes is None:
        return list(DEFAULT_MODES)
    items = modes.split(",") if isinstance(modes, str) else list(modes)
    chosen = dedupe(m.strip() for m in items if m.strip())
    unknown = [m for m in chosen if m not in DEFAULT_MODES]
    if unknown or not chosen:
        raise ConfigError(
            f"unknown retrieval mode(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(DEFAULT_MODES)}"
        )
    return chosen


class UnreadableVerdict(ValueError):
    """The judge's reply is not a verdict (an echoed prompt, a score-less line)."""


_YES_NO = re.compile(r"^[\W_]*(yes|no)\b", re.IGNORECASE)
_SCORE = re.compile(r"^[\W_]*(\d+(?:\.\d+)?)")


def verdict(reply: str) -> bool:
    """YES or NO opening the judge's reply. LlamaIndex counts "yes" anywhere, so a judge that echoes its
    prompt ("...answer YES or NO...") would pass every answer."""
    match = _YES_NO.match(reply or "")
    if match is None:
        raise UnreadableVerdict(f"not a YES/NO verdict ({len(reply or '')} characters)")
    return match.group(1).lower() == "yes"


def score_parser(reply: str) -> tuple[float | None, str]:
    """The correctness score (1-5) opening the reply; the rest is the reasoning (it may be absent)."""
    match = _SCORE.match(reply or "")
    if match is None or not 1 <= float(match.group(1)) <= 5:
        raise UnreadableVerdict(f"no 1-5 score first ({len(reply or '')} characters)")
    return float(match.group(1)), reply[match.end() :].strip()


# A known-unsupported answer: a judge that calls it faithful says yes to everything.
CONTROL = {
    "query": "What does the abstract report about the training hardware?",
    "response": "The authors trained the network on a cluster of quantum computers on the Moon [1].",
    "contexts": ["We prune 90% of the weights of convolutional networks and keep accuracy within one point."],
}


def judge_control(judges: dict[str, Any]) -> str:
    """'passed', or why the faithfulness figures cannot be trusted."""
    try:
        said_yes = verdict(str(judges["faithfulness"].evaluate(**CONTROL).feedback))
    except Exception as exc:  # noqa: BLE001 - a judge is an outside server: any failure is a finding
        return f"unreadable: the judge's answer to the control case failed ({_reason(exc)})"
    if said_yes:
        return "FAILED: the judge called a known-unsupported answer faithful; its faithfulness figures cannot be trusted"
    return "passed"


def _reason(exc: BaseException) -> str:
    """A short, server-text-free reason (SDK errors can quote the server, even a key in a URL)."""
    return str(exc) if isinstance(exc, UnreadableVerdict) else type(exc).__name__


def _judges(llm: LLM) -> dict[str, Any]:
    from llama_index.core.evaluation import CorrectnessEvaluator, FaithfulnessEvaluator

    return {
        "faithfulness": FaithfulnessEvaluator(llm=llm),
        "correctness": CorrectnessEvaluator(llm=llm, parser_function=score_parser),
    }


def run_eval(assistant: Evaluable, path: str | Path, **options: Unpack[EvalOptions]) -> EvalResult:
    """Run every case of a question file through each retrieval mode and through `ask`; write the
    report into `out` when given (see EvalOptions)."""
    unknown = set(options) - set(EvalOptions.__annotations__)
    if unknown:  # `mode="bm25"` for `modes` would otherwise run every mode, the slow stock baseline included
        raise TypeError(f"unknown option {', '.join(sorted(unknown))}; evaluate takes {', '.join(EvalOptions.__annotations__)}")
    modes, k, out, progress = options.get("modes"), options.get("k", 5), options.get("out"), options.get("progress")
    chosen = parse_modes(modes)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= DEPTH:
        raise ConfigError(f"-k must be between 1 and {DEPTH} (got {k})")
    require_ranx()  # before any question runs, not after
    judge = options.get("judge")
    judge = judge if judge is not None else assistant.llm
    papers = assistant.papers()
    by_id = {p.id: p for p in papers}
    qfile = load_questions(path, papers)
    if out is not None:  # an unwritable report folder, said before the run instead of after it
        try:
            Path(out).mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=out):
                pass
        except OSError as exc:
            raise ConfigError(f"cannot write the report into {str(out)!r} ({exc.strerror or exc}); choose a folder you can write to") from exc
    baseline = StockBaseline(papers, assistant.embedder) if STOCK in chosen else None
    judges = _judges(judge) if judge is not None else {}
    control = judge_control(judges) if judges else None
    try:  # warm-up, so latency percentiles measure a warm process
        assistant.ask(qfile.cases[0].question)
    except LLMUnavailable:  # down from the start and no fallback: every case would fail the same way
        raise
    except AssistantError:
        pass  # a refused question is recorded when its case runs
    rows: list[CaseRow] = []
    rankings: list[dict[str, list[str]]] = []
    total = len(qfile.cases)
    interrupted = False
    with _RowLog(out) as log:  # rows as they finish: a killed run keeps what it did
        try:
            for done, case in enumerate(qfile.cases, start=1):
                row, ranked = _run_case(assistant, case, chosen, baseline, judges, by_id)
                rows.append(row)
                rankings.append(ranked)
                log.write(row)
                if progress:
                    progress(done, total)
        except KeyboardInterrupt:  # Ctrl-C: report on the cases that ran
            interrupted = True
    _score_retrieval(rows, rankings, chosen, k)
    _add_reference_cosine(rows, qfile.cases, assistant.embedder)
    primary = assistant.settings.retrieval_mode if assistant.settings.retrieval_mode in chosen else chosen[0]
    for row in rows:
        row.failures = _failures(row, primary, k)
    rows.sort(key=lambda r: (not r.failures, r.line))
    report = build_report(
        rows,
        modes=chosen,
        k=k,
        question_file=str(path),
        settings_hash=assistant.settings.settings_hash(),
        corpus_size=len(papers),
        answer_mode=assistant.settings.llm,
        answer_model=None if assistant.settings.llm == "extractive" else f"{assistant.settings.llm_model} at {llm_host(assistant.settings)}",
        issues=qfile.issues,
        judged=bool(judges),
        judge_control=control,
        interrupted=interrupted,
    )
    out_dir = write_report(report, rows, out) if out is not None else None
    return EvalResult(report=report, rows=rows, issues=qfile.issues, out_dir=out_dir)


class _RowLog:
    """per_question.jsonl written a row at a time while the run goes (write_report rewrites it, scored)."""

    def __init__(self, out: str | Path | None) -> None:
        self.path = Path(out) / "per_question.jsonl" if out is not None else None
        self.file: Any = None

    def __enter__(self) -> _RowLog:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.file = self.path.open("w", encoding="utf-8")
        return self

    def write(self, row: CaseRow) -> None:
        if self.file is not None:
            self.file.write(json.dumps(row.dump(), ensure_ascii=False) + "\n")
            self.file.flush()

    def __exit__(self, *exc: object) -> None:
        if self.file is not None:
            self.file.close()


def _run_case(
    assistant: Evaluable,
    case: EvalCase,
    modes: Sequence[str],
    baseline: StockBaseline | None,
    judges: dict[str, Any],
    papers: dict[str, Paper],
) -> tuple[CaseRow, dict[str, list[str]]]:
    """One case's row (answer scored, retrieval not yet) and its ranked paper ids per mode."""
    row = CaseRow(
        id=case.id,
        kind=case.group,
        line=case.line,
        question=case.question,
        answerable=case.answerable,
        gold=list(case.gold),
        gold_titles=[papers[g].title for g in case.gold],
        expected_quotes=list(case.expected_quotes),
    )
    rankings: dict[str, list[str]] = {}
    try:
        if case.answerable:
            for mode in modes:
                if mode == STOCK:
                    assert baseline is not None
                    rankings[mode] = baseline.rank(case.question)
                else:
                    passages = assistant.retrieve(case.question, k=DEPTH, mode=cast("RetrievalMode", mode))
                    rankings[mode] = [p.paper_id for p in passages]
        start = time.perf_counter()
        answer = assistant.ask(case.question)
        latency = time.perf_counter() - start
    except AssistantError as exc:  # a question the assistant refuses is a failed case, not a failed run
        row.error = f"{type(exc).__name__}: {exc}"
        return row, rankings
    cited = dedupe(c.paper_id for c in answer.citations)
    n = len(answer.citations)
    row.answer = CaseAnswer(
        text=answer.text,
        abstained=answer.abstained,
        cited=cited,
        citation_precision=citation_precision(cited, case.gold) if case.answerable else None,
        citation_recall=citation_recall(cited, case.gold) if case.answerable else None,
        cited_sentence_share=None if answer.abstained else cited_sentence_share(answer.text, n),
        unresolved_markers=unresolved_markers(answer.text, n),
        dropped_markers=answer.dropped_markers,
        rouge_l=rouge_l(answer.text, case.reference_answer) if case.answerable and case.reference_answer else None,
        latency_ms=round(latency * 1000, 1),
        settings_hash=answer.settings_hash,
        mode=answer.mode,
        fallback=answer.fallback,
        notice=answer.notice,
        **(_judge(judges, case, answer, papers) if judges else {}),
        **(_evidence(case, answer, papers) if case.answerable and case.expected_quotes else {}),
    )
    return row, rankings


def _evidence(case: EvalCase, answer: Answer, papers: dict[str, Paper]) -> dict[str, Any]:
    """Per expected quote, whether the answer cites the sentence holding it (an abstention cites none)."""
    cited = cited_sentences(answer.text, answer.citations, papers)
    overlaps = [None if o is None else round(o, 4) for o in evidence_overlaps(case.expected_quotes, cited, papers)]
    hits = [evidence_hit(o) for o in overlaps]  # on the rounded figure, so the row reads consistently
    first = cited_sentences(answer.text, answer.citations, papers, first=True)
    return {
        "evidence_overlap": overlaps,
        "evidence_hit": hits,
        "evidence_share": mean(float(h) for h in hits),
        "evidence_first": any(evidence_hit(o) for o in evidence_overlaps(case.expected_quotes, first, papers)),
    }


def _score_retrieval(rows: list[CaseRow], rankings: list[dict[str, list[str]]], modes: Sequence[str], k: int) -> None:
    """Score every ranked list, one batch per mode, into the rows."""
    for mode in modes:
        todo = [(row, ranked[mode]) for row, ranked in zip(rows, rankings) if mode in ranked]
        scores = rank_scores([(ranked, row.gold) for row, ranked in todo], k)
        for (row, ranked), score in zip(todo, scores):
            row.retrieval[mode] = CaseRetrieval(ranked=ranked[:DEPTH], k=k, **score._asdict())


def _judge(judges: dict[str, Any], case: EvalCase, answer: Answer, papers: dict[str, Paper]) -> dict[str, Any]:
    """LLM-judged faithfulness (answer supported by the retrieved abstracts) and correctness (vs reference).
    A judge that fails or answers unreadably leaves that figure None and says why in `judge_error`."""
    out: dict[str, Any] = {"judged": True, "faithfulness": None, "correctness": None}
    if answer.abstained or not case.answerable:
        return out
    errors: list[str] = []
    contexts = [papers[p.paper_id].abstract for p in answer.passages if p.paper_id in papers]
    try:
        result = judges["faithfulness"].evaluate(query=case.question, response=answer.text, contexts=contexts)
        out["faithfulness"] = float(verdict(str(result.feedback)))
    except Exception as exc:  # noqa: BLE001 - a judge is an outside server: its failure is this case's finding
        errors.append(f"faithfulness: {_reason(exc)}")
    if case.reference_answer:
        try:
            result = judges["correctness"].evaluate(
                query=case.question, response=answer.text, reference=case.reference_answer
            )
            out["correctness"] = None if result.score is None else float(result.score)
        except Exception as exc:  # noqa: BLE001
            errors.append(f"correctness: {_reason(exc)}")
    if errors:
        out["judge_error"] = "; ".join(errors)
    return out


def _add_reference_cosine(rows: list[CaseRow], cases: Sequence[EvalCase], embedder: BaseEmbedding) -> None:
    """Embedding cosine between each answer and its reference answer, embedded in one batch."""
    refs = {c.id: c.reference_answer for c in cases}
    todo = [(r, r.answer) for r in rows if r.answer is not None and r.answerable and refs.get(r.id)]
    if not todo:
        return
    texts = [strip_markers(answer.text) for _, answer in todo] + [refs[r.id] for r, _ in todo]
    vectors = embedder.get_text_embedding_batch(texts)
    for i, (_, answer) in enumerate(todo):
        answer.reference_cosine = round(cosine(vectors[i], vectors[len(todo) + i]), 4)


def _failures(row: CaseRow, primary: str, k: int) -> list[str]:
    """Why a case counts as failed: the primary retrieval mode missed, or the answer went wrong."""
    if row.error:
        return [row.error]
    out: list[str] = []
    scores = row.retrieval.get(primary)
    if scores is not None and not scores.recall:
        missing = [g for g in row.gold if g not in scores.ranked[:k]]
        out.append(f"{primary}: {len(missing)} expected paper(s) not in the top {k}")
    ans = row.answer
    assert ans is not None  # only a refused question (row.error) has none
    if row.answerable:
        if ans.abstained:
            out.append("abstained on an answerable question")
        else:
            if ans.citation_precision is not None and ans.citation_precision < 1:
                out.append("cited a paper that is not expected")
            if ans.citation_recall is not None and ans.citation_recall < 1:
                out.append("did not cite every expected paper")
    elif not ans.abstained:
        out.append("answered an unanswerable question")
    if ans.unresolved_markers:
        out.append(f"{ans.unresolved_markers} unresolved citation marker(s)")
    return out
