"""Run a question file through every retrieval mode (beside the stock LlamaIndex pipeline) and
through `ask`, scoring each case; metrics live in metrics.py, the report files in report.py."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import AssistantError, ConfigError
from .metrics import (
    citation_precision,
    citation_recall,
    cited_sentence_share,
    cosine,
    dedupe,
    retrieval_scores,
    rouge_l,
    strip_markers,
    unresolved_markers,
)
from .questions import EvalCase, QuestionFileError, load_questions
from .report import answer_table, build_report, default_out_dir, retrieval_table, write_report
from .types import Paper, ParseIssue

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.llms import LLM

    from .api import Assistant
    from .config import Settings

__all__ = [  # the tables and out-dir helper are re-exported for the CLI and the page
    "DEFAULT_MODES", "STOCK", "EvalResult", "QuestionFileError", "StockBaseline", "answer_table",
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
    """What one evaluation produced: the report (as written to report.json), per-question rows
    (failures first), the question-file issues, and where the files went (None when not written)."""

    report: dict[str, Any]
    rows: list[dict[str, Any]]
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


def configured_judge(settings: Settings) -> LLM | None:
    """The answer LLM doubles as the judge; with extractive answers there is none and judged columns are skipped."""
    if settings.llm == "extractive":
        return None
    from .providers import build_llm

    return build_llm(settings)


def _judges(llm: LLM) -> dict[str, Any]:
    from llama_index.core.evaluation import CorrectnessEvaluator, FaithfulnessEvaluator

    return {"faithfulness": FaithfulnessEvaluator(llm=llm), "correctness": CorrectnessEvaluator(llm=llm)}


def run_eval(
    assistant: Assistant,
    path: str | Path,
    *,
    modes: str | Sequence[str] | None = None,
    k: int = 5,
    out: str | Path | None = None,
    judge: LLM | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> EvalResult:
    """Run every case of a question file through each retrieval mode and through `ask`; write the
    report into `out` when given. `judge` adds LLM-judged faithfulness and correctness (by default
    the configured answer LLM, if any)."""
    chosen = parse_modes(modes)
    if not 1 <= k <= DEPTH:
        raise ConfigError(f"-k must be between 1 and {DEPTH} (got {k})")
    papers = assistant.papers()
    by_id = {p.id: p for p in papers}
    qfile = load_questions(path, papers)
    baseline = StockBaseline(papers, assistant.embedder) if STOCK in chosen else None
    judge = judge if judge is not None else configured_judge(assistant.settings)
    judges = _judges(judge) if judge is not None else {}
    with contextlib.suppress(AssistantError):  # a refused question is recorded when its case runs
        assistant.ask(qfile.cases[0].question)  # warm-up, so latency percentiles measure a warm process
    rows: list[dict[str, Any]] = []
    total = len(qfile.cases)
    for done, case in enumerate(qfile.cases, start=1):
        rows.append(_run_case(assistant, case, chosen, k, baseline, judges, by_id))
        if progress:
            progress(done, total)
    _add_reference_cosine(rows, qfile.cases, assistant.embedder)
    primary = assistant.settings.retrieval_mode if assistant.settings.retrieval_mode in chosen else chosen[0]
    for row in rows:
        row["failures"] = _failures(row, primary, k)
    rows.sort(key=lambda r: (not r["failures"], r["line"]))
    report = build_report(
        rows,
        modes=chosen,
        k=k,
        question_file=str(path),
        settings_hash=assistant.settings.settings_hash(),
        corpus_size=len(papers),
        answer_mode=assistant.settings.llm,
        issues=qfile.issues,
        judged=bool(judges),
    )
    out_dir = write_report(report, rows, out) if out is not None else None
    return EvalResult(report=report, rows=rows, issues=qfile.issues, out_dir=out_dir)


def _run_case(
    assistant: Assistant,
    case: EvalCase,
    modes: Sequence[str],
    k: int,
    baseline: StockBaseline | None,
    judges: dict[str, Any],
    papers: dict[str, Paper],
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": case.id,
        "kind": case.group,
        "line": case.line,
        "question": case.question,
        "answerable": case.answerable,
        "gold": list(case.gold),
        "gold_titles": [papers[g].title for g in case.gold],
        "retrieval": {},
        "answer": {},
        "error": None,
    }
    try:
        if case.answerable:
            for mode in modes:
                if mode == STOCK:
                    assert baseline is not None
                    ranked = baseline.rank(case.question)
                else:
                    passages = assistant.retrieve(case.question, k=DEPTH, mode=mode)  # type: ignore[arg-type]
                    ranked = [p.paper_id for p in passages]
                row["retrieval"][mode] = {"ranked": ranked[:DEPTH], **retrieval_scores(ranked, case.gold, k)}
        start = time.perf_counter()
        answer = assistant.ask(case.question)
        latency = time.perf_counter() - start
    except AssistantError as exc:  # a question the assistant refuses is a failed case, not a failed run
        row["error"] = f"{type(exc).__name__}: {exc}"
        return row
    cited = dedupe(c.paper_id for c in answer.citations)
    n = len(answer.citations)
    row["answer"] = {
        "text": answer.text,
        "abstained": answer.abstained,
        "cited": cited,
        "citation_precision": citation_precision(cited, case.gold) if case.answerable else None,
        "citation_recall": citation_recall(cited, case.gold) if case.answerable else None,
        "cited_sentence_share": None if answer.abstained else cited_sentence_share(answer.text, n),
        "unresolved_markers": unresolved_markers(answer.text, n),
        "dropped_markers": answer.dropped_markers,
        "rouge_l": rouge_l(answer.text, case.reference_answer)
        if case.answerable and case.reference_answer
        else None,
        "reference_cosine": None,
        "latency_ms": round(latency * 1000, 1),
        "settings_hash": answer.settings_hash,
    }
    if judges:
        row["answer"].update(_judge(judges, case, answer, papers))
    return row


def _judge(judges: dict[str, Any], case: EvalCase, answer: Any, papers: dict[str, Paper]) -> dict[str, Any]:
    """LLM-judged faithfulness (answer supported by the retrieved abstracts) and correctness (vs reference)."""
    out: dict[str, Any] = {"faithfulness": None, "correctness": None}
    if answer.abstained or not case.answerable:
        return out
    contexts = [papers[p.paper_id].abstract for p in answer.passages if p.paper_id in papers]
    result = judges["faithfulness"].evaluate(query=case.question, response=answer.text, contexts=contexts)
    out["faithfulness"] = float(bool(result.passing))
    if case.reference_answer:
        result = judges["correctness"].evaluate(
            query=case.question, response=answer.text, reference=case.reference_answer
        )
        out["correctness"] = None if result.score is None else float(result.score)
    return out


def _add_reference_cosine(rows: list[dict[str, Any]], cases: Sequence[EvalCase], embedder: BaseEmbedding) -> None:
    """Embedding cosine between each answer and its reference answer, embedded in one batch."""
    refs = {c.id: c.reference_answer for c in cases}
    todo = [r for r in rows if r["answer"] and r["answerable"] and refs.get(r["id"])]
    if not todo:
        return
    texts = [strip_markers(r["answer"]["text"]) for r in todo] + [refs[r["id"]] for r in todo]
    vectors = embedder.get_text_embedding_batch(texts)
    for i, row in enumerate(todo):
        row["answer"]["reference_cosine"] = round(cosine(vectors[i], vectors[len(todo) + i]), 4)


def _failures(row: dict[str, Any], primary: str, k: int) -> list[str]:
    """Why a case counts as failed: the primary retrieval mode missed, or the answer went wrong."""
    if row["error"]:
        return [row["error"]]
    out: list[str] = []
    scores = row["retrieval"].get(primary)
    if scores is not None and not scores[f"recall@{k}"]:
        missing = [g for g in row["gold"] if g not in scores["ranked"][:k]]
        out.append(f"{primary}: {len(missing)} expected paper(s) not in the top {k}")
    ans = row["answer"]
    if row["answerable"]:
        if ans["abstained"]:
            out.append("abstained on an answerable question")
        else:
            if ans["citation_precision"] is not None and ans["citation_precision"] < 1:
                out.append("cited a paper that is not expected")
            if ans["citation_recall"] is not None and ans["citation_recall"] < 1:
                out.append("did not cite every expected paper")
    elif not ans["abstained"]:
        out.append("answered an unanswerable question")
    if ans["unresolved_markers"]:
        out.append(f"{ans['unresolved_markers']} unresolved citation marker(s)")
    return out


