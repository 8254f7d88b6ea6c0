"""Fit the weights that choose which sentence of a paper answers a question (answer.ANSWER_WEIGHTS).

For every answerable case and every retrieved paper whose abstract holds an expected quote, each of the
paper's sentences is a candidate; the one holding the quote (metrics.evidence_overlap >= EVIDENCE_SHARE)
should outrank the others. A pairwise logistic model (no intercept, L2, Newton steps) on feature
differences, the cosine's weight fixed at 1 afterwards. Prints the in-paper top-1 / top-2 rates of the
cosine + corpus-lexical baseline and of the fit, 5-fold cross-validated by question.

    python benchmarks/fit_sentences.py tests/questions.jsonl ../shared/eval/dev.jsonl

Tune on bundled + dev only; benchmarks/heldout.jsonl may be passed with --report to see, never to fit.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from llama_index.core.schema import QueryBundle

from assistant.answer import ANSWER_WEIGHTS, LEXICAL_WEIGHT
from assistant.api import Assistant
from assistant.config import Settings
from assistant.corpus import normalise
from assistant.metrics import EVIDENCE_SHARE, evidence_overlap

NAMES = ["cosine", *ANSWER_WEIGHTS]
Group = tuple[str, np.ndarray, np.ndarray]  # case id, features per sentence, holds the quote


def groups(assistant: Assistant, path: Path) -> list[Group]:
    engine = assistant._engine(assistant._ready(), assistant.settings)
    composer = engine.composer  # type: ignore[attr-defined]
    out: list[Group] = []
    for line in path.read_text().splitlines():
        case = json.loads(line)
        quotes = [normalise(q) for q in case.get("expected_quotes") or []]
        if not case.get("answerable", True) or not quotes:
            continue
        query = QueryBundle(query_str=case["question"])
        _, papers = engine.retrieve_papers(query)
        cands = composer.candidates(case["question"], query.embedding or [], papers)
        for paper in papers:
            mine = [c for c in cands if c.paper.id == paper.id]
            held = [q for q in case["expected_quotes"] if normalise(q) in normalise(paper.abstract)]
            if not mine or not held:
                continue
            x = np.array([[c.cosine, *(c.features[k] for k in ANSWER_WEIGHTS)] for c in mine])
            y = np.array([max(evidence_overlap(q, paper.abstract, [c.text]) for q in held) >= EVIDENCE_SHARE for c in mine])
            if y.any() and not y.all():
                out.append((str(case["id"]), x, y))
    return out


def fit(train: list[Group], l2: float = 1.0) -> np.ndarray:
    diffs = np.array([x[i] - x[j] for _, x, y in train for i in np.flatnonzero(y) for j in np.flatnonzero(~y)])
    d = np.vstack([diffs, -diffs])
    t = np.concatenate([np.ones(len(diffs)), np.zeros(len(diffs))])
    w = np.zeros(d.shape[1])
    for _ in range(50):  # Newton's method on the L2-regularised log loss
        p = 1 / (1 + np.exp(-d @ w))
        grad = d.T @ (p - t) + l2 * w
        hess = (d * (p * (1 - p))[:, None]).T @ d + l2 * np.eye(len(w))
        w -= np.linalg.solve(hess, grad)
    return w / w[0]


def top(groups_: list[Group], w: np.ndarray) -> tuple[float, float]:
    ranks = [np.argsort(-(x @ w)) for _, x, _ in groups_]
    one = np.mean([y[r[0]] for (_, _, y), r in zip(groups_, ranks)])
    two = np.mean([y[r[:2]].any() for (_, _, y), r in zip(groups_, ranks)])
    return round(float(one), 3), round(float(two), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="question files to fit on (bundled, dev)")
    parser.add_argument("--report", nargs="*", type=Path, default=[], help="files only to report on")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as store:
        assistant = Assistant(Settings(store_dir=Path(store), quiet=True))
        assistant.ingest()
        data = [g for f in args.files for g in groups(assistant, f)]
        report = {f.name: groups(assistant, f) for f in args.report}
    baseline = np.array([1.0, LEXICAL_WEIGHT] + [0.0] * (len(NAMES) - 2))  # the evidence score's own mix, before any fit
    cases = sorted({c for c, _, _ in data})
    rng = np.random.default_rng(0)
    rng.shuffle(cases)
    folds = [set(cases[k::5]) for k in range(5)]
    held: list[tuple[Group, np.ndarray]] = []
    for fold in folds:
        w = fit([g for g in data if g[0] not in fold])
        held += [(g, w) for g in data if g[0] in fold]
    cv_one = np.mean([g[2][np.argmax(g[1] @ w)] for g, w in held])
    cv_two = np.mean([g[2][np.argsort(-(g[1] @ w))[:2]].any() for g, w in held])  # an answer cites ~2 a paper
    w = fit(data)
    print("weights:", dict(zip(NAMES, np.round(w, 3))))
    print(f"fitted on {len(data)} paper-questions; in-paper top-1/top-2: baseline {top(data, baseline)}, "
          f"fit {top(data, w)}, 5-fold cross-validated top-1/top-2 {cv_one:.3f}/{cv_two:.3f}")
    for name, rows in report.items():
        print(f"{name} (not fitted on): baseline {top(rows, baseline)}, fit {top(rows, w)}")


if __name__ == "__main__":
    main()
