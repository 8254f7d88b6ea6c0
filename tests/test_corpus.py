"""Parsing the three seed shapes, user JSONL/CSV, bad files, and de-duplication."""

from __future__ import annotations

from pathlib import Path

from conftest import SEEDS

from assistant.corpus import label_for, load_corpus, paper_id, parse_page

ABSTRACT_A = (
    "We study how wide networks learn features. We show that the limit is tractable and that it predicts "
    "training dynamics on real data sets well. Experiments confirm the theory across many architectures."
)
ABSTRACT_B = (
    "Diffusion models memorise training images. We propose a parameter selection scheme that reduces "
    "memorisation while keeping generation quality high, evaluated on several image benchmarks in depth."
)


def test_labelled_shape_keeps_authors_and_drops_noise() -> None:
    page = (
        "Get our free extension to see links to code for papers anywhere online!\n\n"
        f"Authors:Ada Lovelace, Alan Turing\n\nFigures and Tables:\n\nAbstract:{ABSTRACT_A}\n\nVia\n\n"
        f"Abstract:{ABSTRACT_B}\n\nVia\n"
    )
    drafts, issues = parse_page(page, "x.txt")
    assert issues == []
    assert [d.abstract for d in drafts] == [ABSTRACT_A, ABSTRACT_B]
    assert drafts[0].authors == ["Ada Lovelace", "Alan Turing"]
    assert drafts[1].authors == [] and drafts[0].title is None


def test_titled_shape_skips_page_furniture() -> None:
    page = (
        "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nbyAK and the research community\n\n"
        f"Mar 11\n\nWide Feature Learning\n\n{ABSTRACT_A}\n\nMemorisation in Diffusion\n\n{ABSTRACT_B}\n"
    )
    drafts, _ = parse_page(page, "y.txt")
    assert [(d.title, d.abstract) for d in drafts] == [
        ("Wide Feature Learning", ABSTRACT_A),
        ("Memorisation in Diffusion", ABSTRACT_B),
    ]


def test_seeds_hold_74_papers_with_titles_and_one_merged_duplicate() -> None:
    result = load_corpus([SEEDS])
    assert result.issues == []
    assert len(result.papers) == 74
    from_003 = [p for p in result.papers if any(s.startswith("003_") for s in p.sources)]
    assert len(from_003) == 52 and all(p.has_title for p in from_003)
    twice = [p for p in result.papers if len(p.sources) == 2]
    assert len(twice) == 1
    assert twice[0].title.startswith("Training the Untrainable")
    assert sorted(s[:3] for s in twice[0].sources) == ["002", "003"]
    with_authors = [p for p in result.papers if p.authors]
    assert any("Michael Poli" in p.authors for p in with_authors)
    assert "$\\Sigma$AE" in result.papers[0].abstract  # LaTeX stays verbatim


def test_ids_are_stable_content_hashes() -> None:
    first = load_corpus([SEEDS]).papers
    again = load_corpus([SEEDS]).papers
    assert [p.id for p in first] == [p.id for p in again]
    assert first[0].id == paper_id(first[0].abstract) == paper_id("  " + first[0].abstract.upper() + " ")
    assert len({p.id for p in first}) == 74


def test_untitled_papers_get_a_readable_label() -> None:
    label = label_for(ABSTRACT_A)
    assert label == "We study how wide networks learn features"
    assert len(label_for("word " * 100 + ".")) <= 91


def test_jsonl_and_csv_with_bad_lines(tmp_path: Path) -> None:
    jsonl = tmp_path / "mine.jsonl"
    jsonl.write_text(
        f'{{"title": "A", "abstract": "{ABSTRACT_A}", "authors": "X. Y, Z. W", "year": 2024}}\n'
        "{not json}\n"
        '{"title": "no abstract"}\n'
    )
    csv_file = tmp_path / "mine.csv"
    csv_file.write_text(f'title,abstract,url\nB,"{ABSTRACT_B}",http://example.org/b\n')
    result = load_corpus([jsonl, csv_file])
    assert [(p.title, p.authors, p.year) for p in result.papers] == [("A", ["X. Y", "Z. W"], 2024), ("B", [], None)]
    assert result.papers[1].url == "http://example.org/b"
    assert [(i.source, i.line) for i in result.issues] == [("mine.jsonl", 2), ("mine.jsonl", 3)]


def test_csv_without_abstract_column_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("title,summary\nA,B\n")
    result = load_corpus([bad])
    assert result.papers == []
    assert "no 'abstract' column" in result.issues[0].message


def test_broken_files_are_named_and_good_ones_still_read(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02garbage")
    (tmp_path / "latin1.txt").write_bytes(f"Abstract:{ABSTRACT_B} caf\xe9".encode("latin-1"))
    (tmp_path / "good.txt").write_text(f"Abstract:{ABSTRACT_A}\n")
    result = load_corpus([tmp_path])
    messages = {i.source: i.message for i in result.issues}
    assert "empty" in messages["empty.txt"]
    assert "binary" in messages["binary.txt"]
    assert "UTF-8" in messages["latin1.txt"]
    assert sorted(p.abstract[:10] for p in result.papers) == sorted([ABSTRACT_A[:10], ABSTRACT_B[:10]])
    assert any(p.abstract.endswith("café") for p in result.papers)
