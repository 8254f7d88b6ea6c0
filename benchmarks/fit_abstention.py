"""Calibrate the abstention threshold (ASSISTANT_ABSTAIN_THRESHOLD) with cross-validation.

An extractive answer abstains when a rule fires (a detail or a name the abstracts never state: abstain.py)
or when its best evidence score is under the threshold. For every case this collects the best score and the
rules' verdict through the composer's own `why_not`, then prints, for thresholds in a grid, how many
unanswerable cases are abstained on and how many answerable ones wrongly, and cross-validates the choice
"the threshold with the most right abstentions minus --cost x the wrong ones" (a refused answerable question
costs a reader more than an answer that was not there to give):
train on one set and test on the other, and 5-fold x 20 repeats over the files pooled (stratified).

    python benchmarks/fit_abstention.py tests/questions.jsonl ../shared/eval/dev.jsonl --report benchmarks/heldout.jsonl

Tune on bundled + dev only; files passed with --report are only reported on (with the threshold fitted on
all the others), never fitted on.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from llama_index.core.schema import QueryBundle

from assistant.api import Assistant
from assistant.config import Settings

GRID = np.round(np.arange(0.20, 0.60, 0.01), 2)
Case = tuple[str, bool, float, bool]  # file name, answerable, best evidence score, a rule abstains


def cases(assistant: Assistant, path: Path) -> list[Case]:
    """The cases the composer decides, as `Assistant.ask` reaches it (metadata questions are answered before)."""
    state, settings = assistant._ready(), assistant.settings
    out: list[Case] = []
    for line in path.read_text().splitlines():
        case = json.loads(line)
        filters = assistant._placed(state, case["question"])
        if assistant._direct(state, case["question"], filters, settings) is not None:
            continue
        engine = assistant._engine(state, settings, filters)
        composer = engine.composer  # type: ignore[attr-defined]
        query = QueryBundle(query_str=case["question"])
        _, papers = engine.retrieve_papers(query)  # type: ignore[attr-defined]
        cands = composer.candidates(case["question"], query.embedding or [], papers)
        best = cands[0].rank_score if cands else float("-inf")
        ruled = composer.why_not(case["question"], cands, papers, float("-inf")) is not None
        out.append((str(path), bool(case.get("answerable", True)), best, ruled))
    return out


def abstains(rows: list[Case], threshold: float) -> np.ndarray:
    return np.array([ruled or best < threshold for _, _, best, ruled in rows])


def counts(rows: list[Case], threshold: float) -> tuple[int, int, int, int]:
    """(right abstentions, unanswerable cases, wrong abstentions, answerable cases)."""
    said = abstains(rows, threshold)
    answerable = np.array([a for _, a, _, _ in rows])
    return int(said[~answerable].sum()), int((~answerable).sum()), int(said[answerable].sum()), int(answerable.sum())


def choose(rows: list[Case], cost: float) -> float:
    """The threshold that maximises right abstentions minus `cost` x wrong ones; of equally good thresholds
    (a flat stretch: no case's score lies between them), the middle one."""
    gain = np.array([right - cost * wrong for right, _, wrong, _ in (counts(rows, float(t)) for t in GRID)])
    best = GRID[np.flatnonzero(gain == gain.max())]
    return float(best[len(best) // 2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="question files to calibrate on (bundled, dev)")
    parser.add_argument("--report", nargs="*", type=Path, default=[], help="files only to report on")
    parser.add_argument("--cost", type=float, default=2.0, help="a wrong abstention's cost in right ones")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as store:
        assistant = Assistant(Settings(store_dir=Path(store), quiet=True))
        assistant.ingest()
        by_file = {str(f): cases(assistant, f) for f in args.files}
        report = {str(f): cases(assistant, f) for f in args.report}
    pooled = [c for rows in by_file.values() for c in rows]
    print("threshold: right abstentions / unanswerable, wrong / answerable, pooled" + "".join(f" | {n}" for n in report))
    for t in GRID[::2]:
        line = "{:.2f}: {}/{}, {}/{}".format(t, *counts(pooled, float(t)))
        print(line + "".join(" | {}/{}, {}/{}".format(*counts(rows, float(t))) for rows in report.values()))
    for name, rows in by_file.items():  # train on the other files, test on this one
        train = [c for c in pooled if c[0] != name]
        if train:
            t = choose(train, args.cost)
            print("fitted on the others ({:.2f}) -> {}: {}/{}, {}/{}".format(t, name, *counts(rows, t)))
    answerable = np.array([a for _, a, _, _ in pooled])
    right, wrong = [], []
    for repeat in range(20):
        rng = np.random.default_rng(repeat)
        fold = np.empty(len(pooled), dtype=int)
        for label in (True, False):  # stratified: each fold holds its share of unanswerable cases
            where = rng.permutation(np.flatnonzero(answerable == label))
            fold[where] = np.arange(len(where)) % 5
        said = np.zeros(len(pooled), dtype=bool)
        for k in range(5):
            t = choose([c for c, f in zip(pooled, fold) if f != k], args.cost)
            said[fold == k] = abstains([c for c, f in zip(pooled, fold) if f == k], t)
        right.append(said[~answerable].mean())
        wrong.append(said[answerable].mean())
    print(f"5-fold x 20 cross-validated (cost {args.cost}): abstains on {np.mean(right):.3f} of unanswerable, "
          f"wrongly on {np.mean(wrong):.3f} of answerable; threshold fitted on all: {choose(pooled, args.cost):.2f}")
    for name, rows in report.items():
        t = choose(pooled, args.cost)
        print("{} (not fitted on), at {:.2f}: {}/{}, {}/{}".format(name, t, *counts(rows, t)))


if __name__ == "__main__":
    main()
