"""Filters by year, author and category, applied inside both searches: top k are k matching papers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SEEDS

from assistant.api import Assistant
from assistant.cli import main
from assistant.config import Settings
from assistant.corpus import load_corpus
from assistant.errors import ConfigError
from assistant.filters import Filters

AUTHORS = [["Ana Rivera", "Bo Chen"], ["Bo Chen"], ["Carla Diaz"], ["Dan Rivers"]]


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """24 seed abstracts with years 2015..2024, four author sets and two categories assigned in turn."""
    folder = tmp_path_factory.mktemp("library")
    papers = load_corpus([SEEDS]).papers[:24]
    rows = [
        {"title": p.title, "abstract": p.abstract, "authors": AUTHORS[i % 4], "year": 2015 + i % 10,
         "categories": ["stat.ML" if i % 3 == 0 else "cs.LG"]}
        for i, p in enumerate(papers)
    ]
    (folder / "library.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    Assistant(Settings(store_dir=folder / "store", seeds_dir=folder)).ingest()
    yield folder / "store"


@pytest.fixture(scope="module")
def lib_assistant(library: Path) -> Assistant:
    return Assistant(Settings(store_dir=library, seeds_dir=library.parent))


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_a_filtered_search_returns_k_matching_papers(lib_assistant: Assistant, mode: str) -> None:
    filters = Filters.parse("2019..2021")
    found = lib_assistant.retrieve("neural networks training", k=5, mode=mode, filters=filters)  # type: ignore[arg-type]
    years = [lib_assistant.paper(p.paper_id).year for p in found]  # type: ignore[union-attr]
    assert len(found) == 5 and all(2019 <= y <= 2021 for y in years), years  # type: ignore[operator]
    unfiltered = lib_assistant.retrieve("neural networks training", k=5, mode=mode)  # type: ignore[arg-type]
    assert any(not 2019 <= lib_assistant.paper(p.paper_id).year <= 2021 for p in unfiltered)  # type: ignore[union-attr, operator]


def test_author_and_category_filters(lib_assistant: Assistant) -> None:
    by_river = lib_assistant.retrieve("learning", k=10, filters=Filters.parse(authors=["river"]))  # Rivera, Rivers
    names = [lib_assistant.paper(p.paper_id).authors for p in by_river]  # type: ignore[union-attr]
    assert len(by_river) == 10 and all(any("river" in a.lower() for a in n) for n in names)
    only_rivera = lib_assistant.retrieve("learning", k=10, filters=Filters.parse(authors=["Rivera"]))
    assert len(only_rivera) == 6  # every one of her six papers, and no other
    stat = lib_assistant.retrieve("learning", k=8, filters=Filters.parse(authors=["Chen"], categories=["STAT.ML"]))
    for p in stat:
        paper = lib_assistant.paper(p.paper_id)
        assert paper and "stat.ML" in paper.categories and "Bo Chen" in paper.authors
    assert 1 <= len(stat) <= 8


def test_answers_cite_only_matching_papers_and_say_when_none_match(lib_assistant: Assistant) -> None:
    answer = lib_assistant.ask("What do these papers show about training?", filters=Filters.parse("2024"))
    assert all(lib_assistant.paper(c.paper_id).year == 2024 for c in answer.citations)  # type: ignore[union-attr]
    none = lib_assistant.ask("What do these papers show about training?", filters=Filters.parse("1990"))
    assert none.abstained and "No paper in the store matches the filters (year 1990)" in none.text


def test_year_ranges_parse_and_bad_ones_are_refused() -> None:
    assert (Filters.parse("2019..2021").first_year, Filters.parse("2019..2021").last_year) == (2019, 2021)
    assert (Filters.parse("2020").first_year, Filters.parse("2020").last_year) == (2020, 2020)
    assert (Filters.parse("2019..").last_year, Filters.parse("..2021").first_year) == (None, None)
    assert not Filters.parse(None) and Filters.parse("2020").describe() == "year 2020"
    for bad in ("last year", "2021..2019", "20"):
        with pytest.raises(ConfigError):
            Filters.parse(bad)


def test_the_cli_filters_and_refuses_a_bad_year(
    library: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(library))
    assert main(["retrieve", "training", "-k", "3", "--author", "Diaz", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert len(found) == 3
    assert main(["ask", "What is shown?", "--year", "soon"]) == 2
    assert "--year takes a year or a range" in capsys.readouterr().err
