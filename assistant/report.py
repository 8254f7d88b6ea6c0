"""Evaluation rows -> the report: summaries per mode and per question kind, the issue's targets, and
the files report.json, report.md, retrieval.png, by_kind.png and per_question.jsonl."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .metrics import dedupe, mean, percentile
from .types import ParseIssue

SCHEMA = 1
BASELINES = ("bm25", "llamaindex-stock")  # the issue's target: hybrid ahead of both
PLOTS = ("retrieval.png", "by_kind.png")


# -- aggregation ------------------------------------------------------------------------------------
def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def retrieval_summary(rows: Sequence[dict[str, Any]], modes: Sequence[str], k: int) -> dict[str, dict[str, Any]]:
    """Mean retrieval metrics per mode over the cases that were retrieved for (the answerable ones)."""
    keys = ("hit@1", f"recall@{k}", "mrr", "ndcg@10")
    out: dict[str, dict[str, Any]] = {}
    for mode in modes:
        scored = [r["retrieval"][mode] for r in rows if mode in r["retrieval"]]
        out[mode] = {key: _r(mean(s[key] for s in scored)) for key in keys} | {"cases": len(scored)}
    return out


def answer_summary(rows: Sequence[dict[str, Any]], judged: bool = False) -> dict[str, Any]:
    """Answer metrics; None where no case applies (e.g. abstention accuracy without unanswerable cases)."""
    ran = [r for r in rows if r["answer"]]
    answerable = [r["answer"] for r in ran if r["answerable"]]
    unanswerable = [r["answer"] for r in ran if not r["answerable"]]
    latencies = [a["answer"]["latency_ms"] for a in ran]
    out: dict[str, Any] = {
        "cases": len(ran),
        "errors": sum(1 for r in rows if r["error"]),
        "citation_precision": _r(mean(a["citation_precision"] for a in answerable)),
        "citation_recall": _r(mean(a["citation_recall"] for a in answerable)),
        "cited_sentence_share": _r(mean(a["answer"]["cited_sentence_share"] for a in ran)),
        "abstention_accuracy": _r(mean(float(a["abstained"]) for a in unanswerable)),
        "false_abstention_rate": _r(mean(float(a["abstained"]) for a in answerable)),
        "reference_cosine": _r(mean(a["reference_cosine"] for a in answerable)),
        "reference_rouge_l": _r(mean(a["rouge_l"] for a in answerable)),
        "latency_p50_ms": _r(percentile(latencies, 50), 1),
        "latency_p95_ms": _r(percentile(latencies, 95), 1),
        "unresolved_markers": sum(a["answer"]["unresolved_markers"] for a in ran),
        "dropped_markers": sum(a["answer"]["dropped_markers"] for a in ran),
    }
    if judged:
        out["faithfulness"] = _r(mean(a.get("faithfulness") for a in answerable))
        out["correctness"] = _r(mean(a.get("correctness") for a in answerable))
    return out


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's quality targets, each with the measured value and whether it is met."""
    k = report["k"]
    ret, ans = report["retrieval"], report["answers"]
    hybrid = ret.get("hybrid", {})
    rec = f"recall@{k}"
    rows: list[tuple[str, str, Any, bool | None]] = [
        (f"hybrid {rec}", ">= 0.95", hybrid.get(rec), _at_least(hybrid.get(rec), 0.95)),
        ("hybrid mrr", ">= 0.85", hybrid.get("mrr"), _at_least(hybrid.get("mrr"), 0.85)),
    ]
    for other in BASELINES:
        if other in ret and "hybrid" in ret:
            ahead = all(_ahead(hybrid.get(m), ret[other].get(m)) for m in (rec, "mrr"))
            versus = ", ".join(f"{m} {_fmt(hybrid.get(m))} vs {_fmt(ret[other].get(m))}" for m in (rec, "mrr"))
            rows.append((f"hybrid ahead of {other}", "both higher", versus, ahead))
    rows += [
        ("citation_precision", ">= 0.9", ans["citation_precision"], _at_least(ans["citation_precision"], 0.9)),
        ("abstention_accuracy", ">= 0.8", ans["abstention_accuracy"], _at_least(ans["abstention_accuracy"], 0.8)),
        (
            "false_abstention_rate",
            "<= 0.05",
            ans["false_abstention_rate"],
            None if ans["false_abstention_rate"] is None else ans["false_abstention_rate"] <= 0.05,
        ),
        ("unresolved_markers", "= 0", ans["unresolved_markers"], ans["unresolved_markers"] == 0),
    ]
    return [{"name": n, "target": t, "value": v, "met": m} for n, t, v, m in rows]


def _at_least(value: float | None, floor: float) -> bool | None:
    return None if value is None else value >= floor


def _ahead(ours: float | None, theirs: float | None) -> bool:
    return ours is not None and (theirs is None or ours > theirs)


def build_report(
    rows: Sequence[dict[str, Any]],
    *,
    modes: Sequence[str],
    k: int,
    question_file: str,
    settings_hash: str,
    corpus_size: int,
    answer_mode: str,
    issues: Sequence[ParseIssue] = (),
    judged: bool = False,
) -> dict[str, Any]:
    """The stable report.json shape."""
    kinds = dedupe(r["kind"] for r in sorted(rows, key=lambda r: r["line"]))
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "question_file": question_file,
        "settings_hash": settings_hash,
        "code_hash": code_hash(),
        "corpus_size": corpus_size,
        "answer_mode": answer_mode,
        "k": k,
        "modes": list(modes),
        "cases": len(rows),
        "answerable": sum(1 for r in rows if r["answerable"]),
        "unanswerable": sum(1 for r in rows if not r["answerable"]),
        "failed": sum(1 for r in rows if r.get("failures")),
        "issues": [{"line": i.line, "message": i.message} for i in issues],
        "retrieval": retrieval_summary(rows, modes, k),
        "answers": answer_summary(rows, judged),
        "llm_judged": judged,
        "by_kind": {},
    }
    for kind in kinds:
        subset = [r for r in rows if r["kind"] == kind]
        report["by_kind"][kind] = {
            "cases": len(subset),
            "retrieval": retrieval_summary(subset, modes, k),
            "answers": answer_summary(subset, judged),
        }
    report["targets"] = targets(report)
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
)


def retrieval_table(report: dict[str, Any]) -> str:
    keys = ("hit@1", f"recall@{report['k']}", "mrr", "ndcg@10")
    return _table(("mode", *keys), ([mode, *(s[key] for key in keys)] for mode, s in report["retrieval"].items()))


def answer_table(report: dict[str, Any]) -> str:
    keys = ANSWER_KEYS + (("faithfulness", "correctness") if report["llm_judged"] else ())
    return _table(("metric", "value"), ((key, report["answers"][key]) for key in keys))


def render_markdown(report: dict[str, Any], rows: Sequence[dict[str, Any]], plots: Sequence[str] = ()) -> str:
    """report.md: the same numbers as report.json, as tables."""
    k = report["k"]
    rec = f"recall@{k}"
    parts = [
        f"# Evaluation of `{report['question_file']}`",
        f"{report['cases']} cases ({report['answerable']} answerable, {report['unanswerable']} unanswerable), "
        f"{report['failed']} failed · corpus {report['corpus_size']} papers · "
        f"settings `{report['settings_hash']}` · code `{report['code_hash']}` · answers: {report['answer_mode']} · {report['created']}",
        f"## Retrieval (distinct papers; {rec} = every expected paper in the top {k})",
        retrieval_table(report),
        f"## Answers ({report['answer_mode']})",
        answer_table(report),
    ]
    if not report["llm_judged"]:
        parts.append(
            "LLM-judged faithfulness and correctness are skipped: answers are extractive and no LLM is configured."
        )
    kinds = report["by_kind"]
    modes = report["modes"]
    parts += [
        "## By question kind",
        _table(
            ("kind", "cases", *(f"{m} {rec}" for m in modes), "citation precision", "citation recall", "abstained"),
            (
                [
                    kind,
                    data["cases"],
                    *(data["retrieval"][m][rec] for m in modes),
                    data["answers"]["citation_precision"],
                    data["answers"]["citation_recall"],
                    mean(
                        float(r["answer"]["abstained"])
                        for r in rows
                        if r["kind"] == kind and r["answer"]
                    ),
                ]
                for kind, data in kinds.items()
            ),
        ),
        "## Targets",
        _table(
            ("target", "wanted", "value", "met"),
            ([t["name"], t["target"], t["value"], t["met"]] for t in report["targets"]),
        ),
    ]
    if report["issues"]:
        parts += ["## Question-file problems (these lines did not run)"]
        parts += ["\n".join(f"- line {i['line']}: {i['message']}" for i in report["issues"])]
    failed = [r for r in rows if r.get("failures")]
    if failed:
        parts += [f"## Failed cases ({len(failed)}; all rows in per_question.jsonl)"]
        parts += ["\n".join(f"- `{r['id']}` ({r['kind']}): {'; '.join(r['failures'])}" for r in failed)]
    for name in plots:
        parts.append(f"![{name}]({name})")
    return "\n\n".join(parts) + "\n"


def plot_report(report: dict[str, Any], out_dir: Path) -> list[str]:
    """retrieval.png (metrics per mode) and by_kind.png (per question kind); returns the file names."""
    from matplotlib.figure import Figure  # no pyplot: no global backend state, Agg canvas by default

    k = report["k"]
    keys = ("hit@1", f"recall@{k}", "mrr", "ndcg@10")
    modes = list(report["retrieval"])
    width = 0.8 / max(len(modes), 1)

    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    for i, mode in enumerate(modes):
        values = [report["retrieval"][mode][key] or 0.0 for key in keys]
        ax.bar([x + i * width for x in range(len(keys))], values, width, label=mode)
    ax.set_xticks([x + width * (len(modes) - 1) / 2 for x in range(len(keys))], keys)
    ax.set_ylim(0, 1.3)
    ax.set_title(f"Retrieval by mode ({report['answerable']} answerable cases, settings {report['settings_hash']})")
    ax.legend(loc="upper center", ncol=len(modes), fontsize="small")
    fig.tight_layout()
    fig.savefig(out_dir / PLOTS[0], dpi=110)

    kinds = [kind for kind, data in report["by_kind"].items() if any(s["cases"] for s in data["retrieval"].values())]
    fig = Figure(figsize=(13, 4.5))
    axes = fig.subplots(1, 3)
    for ax, key in zip(axes[:2], (f"recall@{k}", "mrr")):
        for i, mode in enumerate(modes):
            values = [report["by_kind"][kind]["retrieval"][mode][key] or 0.0 for kind in kinds]
            ax.bar([x + i * width for x in range(len(kinds))], values, width, label=mode)
        ax.set_xticks([x + width * (len(modes) - 1) / 2 for x in range(len(kinds))], kinds, rotation=20)
        ax.set_ylim(0, 1.3)
        ax.set_title(f"{key} by kind")
        ax.legend(loc="upper center", ncol=2, fontsize="x-small")
    answer_keys = ("citation_precision", "citation_recall", "abstention_accuracy")
    width_a = 0.8 / len(answer_keys)
    kinds = list(report["by_kind"])
    for i, key in enumerate(answer_keys):
        values = [report["by_kind"][kind]["answers"][key] or 0.0 for kind in kinds]
        axes[2].bar([x + i * width_a for x in range(len(kinds))], values, width_a, label=key)
    axes[2].set_xticks([x + width_a for x in range(len(kinds))], kinds, rotation=20)
    axes[2].set_ylim(0, 1.3)
    axes[2].set_title("answers by kind")
    axes[2].legend(loc="upper center", ncol=2, fontsize="x-small")
    fig.tight_layout()
    fig.savefig(out_dir / PLOTS[1], dpi=110)
    return list(PLOTS)


def write_report(report: dict[str, Any], rows: Sequence[dict[str, Any]], out_dir: str | Path) -> Path:
    """Write report.json, report.md, the plots and per_question.jsonl (rows in the given order) into out_dir."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plots = plot_report(report, out)
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "report.md").write_text(render_markdown(report, rows, plots), encoding="utf-8")
    with (out / "per_question.jsonl").open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps({**row, "settings_hash": report["settings_hash"]}, ensure_ascii=False) + "\n")
    return out


def code_hash() -> str:
    """Short hash of the package's source: the settings hash alone misses code changes made while tuning."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def default_out_dir() -> Path:
    """out/eval-<local timestamp>, so runs never overwrite each other."""
    return Path("out") / f"eval-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
