"""Evaluation rows -> the report: summaries per mode and per question kind, the issue's targets, and
the files report.json, report.md, retrieval.png, by_kind.png and per_question.jsonl."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import prompts
from .evalmodels import JUDGED, AnswerSummary, CaseRow, EvalReport, KindSummary, ReportIssue, RetrievalSummary, Target
from .metrics import EVIDENCE_SHARE, dedupe, mean, percentile
from .types import ParseIssue

SCHEMA = 1
BASELINES = ("bm25", "llamaindex-stock")  # the issue's target: hybrid ahead of both
PLOTS = ("retrieval.png", "by_kind.png")
SEVERAL_PAPERS = ("multi", "summary")  # kinds whose answers should cover every expected paper


# -- aggregation ------------------------------------------------------------------------------------
def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def retrieval_summary(rows: Sequence[CaseRow], modes: Sequence[str], k: int) -> dict[str, RetrievalSummary]:
    """Mean retrieval metrics per mode over the cases that were retrieved for (the answerable ones)."""
    out: dict[str, RetrievalSummary] = {}
    for mode in modes:
        scored = [r.retrieval[mode] for r in rows if mode in r.retrieval]
        out[mode] = RetrievalSummary(
            hit_at_1=_r(mean(s.hit_at_1 for s in scored)),
            recall=_r(mean(s.recall for s in scored)),
            mrr=_r(mean(s.mrr for s in scored)),
            ndcg_at_10=_r(mean(s.ndcg_at_10 for s in scored)),
            cases=len(scored),
            k=k,
        )
    return out


def answer_summary(rows: Sequence[CaseRow], judged: bool = False) -> AnswerSummary:
    """Answer metrics; None where no case applies (e.g. abstention accuracy without unanswerable cases)."""
    ran = [(r, r.answer) for r in rows if r.answer is not None]
    answers = [a for _, a in ran]
    answerable = [a for r, a in ran if r.answerable]
    unanswerable = [a for r, a in ran if not r.answerable]
    latencies = [a.latency_ms for a in answers]
    return AnswerSummary(
        cases=len(ran),
        errors=sum(1 for r in rows if r.error),
        citation_precision=_r(mean(a.citation_precision for a in answerable)),
        citation_recall=_r(mean(a.citation_recall for a in answerable)),
        cited_sentence_share=_r(mean(a.cited_sentence_share for a in answers)),
        abstention_accuracy=_r(mean(float(a.abstained) for a in unanswerable)),
        false_abstention_rate=_r(mean(float(a.abstained) for a in answerable)),
        reference_cosine=_r(mean(a.reference_cosine for a in answerable)),
        reference_rouge_l=_r(mean(a.rouge_l for a in answerable)),
        latency_p50_ms=_r(percentile(latencies, 50), 1),
        latency_p95_ms=_r(percentile(latencies, 95), 1),
        unresolved_markers=sum(a.unresolved_markers for a in answers),
        dropped_markers=sum(a.dropped_markers for a in answers),
        evidence_hit_rate=_r(mean(float(h) for a in answerable for h in a.evidence_hit or ())),
        evidence_hit_rate_cited=_r(
            mean(
                float(hit)
                for a in answerable
                for hit, overlap in zip(a.evidence_hit or (), a.evidence_overlap or ())
                if overlap is not None  # the answer cites a paper that holds the quote
            )
        ),
        evidence_first_rate=_r(mean(float(a.evidence_first) for a in answerable if a.evidence_first is not None)),
        paper_coverage=_r(mean(a.citation_recall for r, a in ran if r.answerable and r.kind in SEVERAL_PAPERS)),
        faithfulness=_r(mean(a.faithfulness for a in answerable)) if judged else None,
        correctness=_r(mean(a.correctness for a in answerable)) if judged else None,
        judged=judged,
    )


def targets(report: EvalReport) -> list[Target]:
    """The issue's quality targets, each with the measured value and whether it is met."""
    rec = f"recall@{report.k}"
    ret, ans = report.retrieval, report.answers
    hybrid = ret.get("hybrid")
    recall, mrr = (hybrid.recall, hybrid.mrr) if hybrid else (None, None)
    rows: list[tuple[str, str, Any, bool | None]] = [
        (f"hybrid {rec}", ">= 0.95", recall, _at_least(recall, 0.95)),
        ("hybrid mrr", ">= 0.85", mrr, _at_least(mrr, 0.85)),
    ]
    for other in BASELINES:
        if other in ret and hybrid is not None:
            theirs = ret[other]
            ahead = _ahead(hybrid.recall, theirs.recall) and _ahead(hybrid.mrr, theirs.mrr)
            versus = f"{rec} {_fmt(hybrid.recall)} vs {_fmt(theirs.recall)}, mrr {_fmt(hybrid.mrr)} vs {_fmt(theirs.mrr)}"
            rows.append((f"hybrid ahead of {other}", "both higher", versus, ahead))
    rows += [
        ("citation_precision", ">= 0.9", ans.citation_precision, _at_least(ans.citation_precision, 0.9)),
        ("abstention_accuracy", ">= 0.8", ans.abstention_accuracy, _at_least(ans.abstention_accuracy, 0.8)),
        (
            "false_abstention_rate",
            "<= 0.05",
            ans.false_abstention_rate,
            None if ans.false_abstention_rate is None else ans.false_abstention_rate <= 0.05,
        ),
        ("unresolved_markers", "= 0", ans.unresolved_markers, ans.unresolved_markers == 0),
        ("evidence_hit_rate", ">= 0.8", ans.evidence_hit_rate, _at_least(ans.evidence_hit_rate, 0.8)),
        ("paper_coverage (multi, summary)", ">= 0.85", ans.paper_coverage, _at_least(ans.paper_coverage, 0.85)),
    ]
    return [Target(name=n, target=t, value=v, met=m) for n, t, v, m in rows]


def _at_least(value: float | None, floor: float) -> bool | None:
    return None if value is None else value >= floor


def _ahead(ours: float | None, theirs: float | None) -> bool:
    return ours is not None and (theirs is None or ours > theirs)


def _kind_summary(rows: Sequence[CaseRow], modes: Sequence[str], k: int, judged: bool) -> KindSummary:
    return KindSummary(cases=len(rows), retrieval=retrieval_summary(rows, modes, k), answers=answer_summary(rows, judged))


def build_report(
    rows: Sequence[CaseRow],
    *,
    modes: Sequence[str],
    k: int,
    question_file: str,
    settings_hash: str,
    corpus_size: int,
    answer_mode: str,
    answer_model: str | None = None,
    issues: Sequence[ParseIssue] = (),
    judged: bool = False,
    judge_control: str | None = None,
    interrupted: bool = False,
) -> EvalReport:
    """The report (report.json's stable shape), with the issue's targets checked."""
    kinds = dedupe(r.kind for r in sorted(rows, key=lambda r: r.line))
    report = EvalReport(
        schema_=SCHEMA,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        question_file=question_file,
        settings_hash=settings_hash,
        code_hash=code_hash(),
        corpus_size=corpus_size,
        answer_mode=answer_mode,
        answer_model=answer_model,
        fallbacks=sum(1 for r in rows if r.answer is not None and r.answer.fallback),
        k=k,
        modes=list(modes),
        cases=len(rows),
        answerable=sum(1 for r in rows if r.answerable),
        unanswerable=sum(1 for r in rows if not r.answerable),
        failed=sum(1 for r in rows if r.failures),
        issues=[ReportIssue(line=i.line, message=i.message) for i in issues],
        retrieval=retrieval_summary(rows, modes, k),
        answers=answer_summary(rows, judged),
        llm_judged=judged,
        judge_control=judge_control,
        judge_errors=sum(1 for r in rows if r.answer is not None and r.answer.judge_error),
        interrupted=interrupted,
        by_kind={kind: _kind_summary([r for r in rows if r.kind == kind], modes, k, judged) for kind in kinds},
    )
    report.targets = targets(report)
    return report


# -- writing the report -----------------------------------------------------------------------------
def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"
    return str(value)


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


ANSWER_KEYS = (
    "citation_precision",
    "citation_recall",
    "cited_sentence_share",
    "abstention_accuracy",
    "false_abstention_rate",
    "reference_cosine",
    "reference_rouge_l",
    "latency_p50_ms",
    "latency_p95_ms",
    "unresolved_markers",
    "evidence_hit_rate",
    "evidence_hit_rate_cited",
    "evidence_first_rate",
    "paper_coverage",
)


def retrieval_keys(k: int) -> tuple[str, ...]:
    """The retrieval metrics' report keys, in table order."""
    return ("hit@1", f"recall@{k}", "mrr", "ndcg@10")


def _figures(summary: RetrievalSummary) -> list[float | None]:
    return [summary.hit_at_1, summary.recall, summary.mrr, summary.ndcg_at_10]


def retrieval_table(report: EvalReport) -> str:
    """Markdown table: one row per retrieval mode."""
    return _table(("mode", *retrieval_keys(report.k)), ([mode, *_figures(s)] for mode, s in report.retrieval.items()))


def answer_table(report: EvalReport) -> str:
    """Markdown table: one row per answer metric."""
    keys = ANSWER_KEYS + (JUDGED if report.llm_judged else ())
    figures = report.answers.dump()
    return _table(("metric", "value"), ((key, figures[key]) for key in keys))


def glossary(k: int) -> str:
    """What each figure of report.md measures (the definitions are metrics.py's)."""
    meanings = {
        "hit@1": "the first paper retrieved is an expected one",
        f"recall@{k}": f"every expected paper is among the first {k} distinct papers",
        "mrr": "mean of 1/rank of the first expected paper (0 when it is not in the top 10)",
        "ndcg@10": "discounted cumulative gain of the expected papers in the top 10, 1 = all of them first",
        "citation_precision": "share of the papers an answer cites that are expected (answerable questions answered)",
        "citation_recall": "share of the expected papers an answer cites (answerable questions)",
        "cited_sentence_share": "share of an answer's sentences that carry a [n] marker",
        "abstention_accuracy": "share of unanswerable questions the assistant declines to answer",
        "false_abstention_rate": "share of answerable questions it declines to answer",
        "reference_cosine": "embedding cosine between the answer and the case's reference answer",
        "reference_rouge_l": "ROUGE-L F1 between the answer and the reference answer",
        "latency_p50_ms": "time of one `ask` in a warm process, median",
        "latency_p95_ms": "the same, 95th percentile",
        "unresolved_markers": "[n] markers in answers that name no source (should be 0)",
        "evidence_hit_rate": "share of expected quotes whose sentence the answer cites: a cited sentence contains "
        f"the quote or at least {EVIDENCE_SHARE:.0%} of its words",
        "evidence_hit_rate_cited": "the same, over the quotes whose paper the answer cites (is the right sentence "
        "chosen once the right paper is)",
        "evidence_first_rate": "share of the cases with expected quotes whose answer's first cited sentence holds one "
        "(what a reader reads first; an abstention holds none)",
        "paper_coverage": "citation recall of the multi and summary cases",
        "faithfulness / correctness": "the LLM judge's YES share (answer supported by its sources) and mean 1-5 "
        "score against the reference answer",
    }
    return "\n".join(f"- **{name}**: {meaning}" for name, meaning in meanings.items())


def fallback_warning(report: EvalReport) -> str:
    """Said in report.md and by `assistant eval` when some answers are not the LLM's."""
    return (f"{report.fallbacks} of {report.cases} answers were written offline by the extractive composer, because "
            f"the LLM ({report.answer_model}) was unavailable (see each row's notice in per_question.jsonl): the answer "
            "figures mix the two. Fix the endpoint (`assistant llm check`) and run again, or set "
            "ASSISTANT_LLM_FALLBACK=none to fail such cases instead.")


def render_markdown(report: EvalReport, rows: Sequence[CaseRow], plots: Sequence[str] = ()) -> str:
    """report.md: the same numbers as report.json, as tables."""
    k = report.k
    rec = f"recall@{k}"
    answers = report.answer_mode + (f" ({report.answer_model})" if report.answer_model else "")
    parts = [
        f"# Evaluation of `{report.question_file}`",
        f"{report.cases} cases ({report.answerable} answerable, {report.unanswerable} unanswerable), "
        f"{report.failed} failed · corpus {report.corpus_size} papers · "
        f"settings `{report.settings_hash}` · code `{report.code_hash}` · answers: {answers} · {report.created}",
        f"## Retrieval (distinct papers; {rec} = every expected paper in the top {k})",
        retrieval_table(report),
        f"## Answers ({answers})",
        answer_table(report),
    ]
    if report.fallbacks:
        parts.insert(1, f"**{fallback_warning(report)}**")
    if not report.llm_judged:
        parts.append(
            "LLM-judged faithfulness and correctness are skipped: answers are extractive and no LLM is configured."
        )
    else:
        parts.append(f"LLM judge: control case {report.judge_control}; {report.judge_errors} case(s) not judged "
                     "(see judge_error in per_question.jsonl).")
    if report.interrupted:
        parts.insert(1, f"**Interrupted**: the figures cover the {report.cases} cases that ran.")
    if report.issues:  # said where the figures are read, not only in the list at the end
        skipped = len(report.issues)
        parts.insert(1, f"**{skipped} line{'s' if skipped != 1 else ''} of the question file did not run** "
                        "(see “Question-file problems” below); the figures cover the cases that did.")
    modes = report.modes
    parts += [
        "## By question kind",
        _table(
            (
                "kind", "cases", *(f"{m} {rec}" for m in modes), "citation precision", "citation recall",
                "evidence hit", "abstained",
            ),
            (
                [
                    kind,
                    data.cases,
                    *(data.retrieval[m].recall for m in modes),
                    data.answers.citation_precision,
                    data.answers.citation_recall,
                    data.answers.evidence_hit_rate,
                    mean(float(r.answer.abstained) for r in rows if r.kind == kind and r.answer is not None),
                ]
                for kind, data in report.by_kind.items()
            ),
        ),
        "## Targets",
        _table(("target", "wanted", "value", "met"), ([t.name, t.target, t.value, t.met] for t in report.targets)),
    ]
    if report.issues:
        parts += ["## Question-file problems (these lines did not run)"]
        parts += ["\n".join(f"- line {i.line}: {i.message}" for i in report.issues)]
    failed = [r for r in rows if r.failures]
    if failed:
        parts += [f"## Failed cases ({len(failed)}; all rows in per_question.jsonl)"]
        parts += ["\n".join(f"- `{r.id}` ({r.kind}): {'; '.join(r.failures)}" for r in failed)]
    for name in plots:
        parts.append(f"![{name}]({name})")
    parts += ["## What the figures mean", glossary(k)]
    return "\n\n".join(parts) + "\n"


def plot_report(report: EvalReport, out_dir: Path) -> list[str]:
    """retrieval.png (metrics per mode) and by_kind.png (per question kind); returns the file names."""
    from matplotlib.figure import Figure  # no pyplot: no global backend state, Agg canvas by default

    k = report.k
    keys = retrieval_keys(k)
    modes = list(report.retrieval)
    width = 0.8 / max(len(modes), 1)

    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    for i, mode in enumerate(modes):
        values = [v or 0.0 for v in _figures(report.retrieval[mode])]
        ax.bar([x + i * width for x in range(len(keys))], values, width, label=mode)
    ax.set_xticks([x + width * (len(modes) - 1) / 2 for x in range(len(keys))], keys)
    ax.set_ylim(0, 1.3)
    ax.set_title(f"Retrieval by mode ({report.answerable} answerable cases, settings {report.settings_hash})")
    ax.legend(loc="upper center", ncol=len(modes), fontsize="small")
    fig.tight_layout()
    fig.savefig(out_dir / PLOTS[0], dpi=110)

    kinds = [kind for kind, data in report.by_kind.items() if any(s.cases for s in data.retrieval.values())]
    fig = Figure(figsize=(13, 4.5))
    axes = fig.subplots(1, 3)
    for ax, key in zip(axes[:2], (f"recall@{k}", "mrr")):
        for i, mode in enumerate(modes):
            values = [report.by_kind[kind].retrieval[mode].dump()[key] or 0.0 for kind in kinds]
            ax.bar([x + i * width for x in range(len(kinds))], values, width, label=mode)
        ax.set_xticks([x + width * (len(modes) - 1) / 2 for x in range(len(kinds))], kinds, rotation=20)
        ax.set_ylim(0, 1.3)
        ax.set_title(f"{key} by kind")
        ax.legend(loc="upper center", ncol=2, fontsize="x-small")
    answer_keys = ("citation_precision", "citation_recall", "abstention_accuracy")
    width_a = 0.8 / len(answer_keys)
    kinds = list(report.by_kind)
    for i, key in enumerate(answer_keys):
        values = [report.by_kind[kind].answers.dump()[key] or 0.0 for kind in kinds]
        axes[2].bar([x + i * width_a for x in range(len(kinds))], values, width_a, label=key)
    axes[2].set_xticks([x + width_a for x in range(len(kinds))], kinds, rotation=20)
    axes[2].set_ylim(0, 1.3)
    axes[2].set_title("answers by kind")
    axes[2].legend(loc="upper center", ncol=2, fontsize="x-small")
    fig.tight_layout()
    fig.savefig(out_dir / PLOTS[1], dpi=110)
    return list(PLOTS)


def write_report(report: EvalReport, rows: Sequence[CaseRow], out_dir: str | Path) -> Path:
    """Write report.json, report.md, the plots and per_question.jsonl (rows in the given order) into out_dir."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plots = plot_report(report, out)
    (out / "report.json").write_text(json.dumps(report.dump(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "report.md").write_text(render_markdown(report, rows, plots), encoding="utf-8")
    with (out / "per_question.jsonl").open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps({**row.dump(), "settings_hash": report.settings_hash}, ensure_ascii=False) + "\n")
    return out


def code_hash() -> str:
    """Short hash of the package's source and prompt templates: the settings hash misses changes made while tuning."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for name in sorted(prompts.SLOTS):  # through load(), wherever the templates are installed
        digest.update(f"prompt:{name}".encode() + b"\0" + prompts.load(name).encode())
    return digest.hexdigest()[:12]


def default_out_dir() -> Path:
    """out/eval-<local timestamp>, so runs never overwrite each other."""
    return Path("out") / f"eval-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
