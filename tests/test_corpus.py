"""Parsing the three seed shapes, user JSONL/CSV, bad files, and de-duplication."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import SEEDS

from assistant.corpus import MAX_FILE_BYTES, label_for, load_corpus, paper_id, parse_page, read_lines

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


# -- files over the whole-document limit: JSON lines and CSV are read a line at a time --------------------
def _snapshot_line(i: int) -> str:
    """One line of arXiv's bulk metadata snapshot (the Kaggle arxiv-metadata-oai-snapshot.json format)."""
    return json.dumps({
        "id": f"2101.{i:05d}", "submitter": "A. Person", "authors": "Ana Rivera and Bo Chen", "title": f"Study {i}",
        "comments": None, "journal-ref": None, "doi": None, "categories": "cs.LG stat.ML", "license": None,
        "abstract": f"  We study problem number {i} and show that a simple method solves it well in practice.\n",
        "versions": [{"version": "v1", "created": "Mon, 4 Jan 2021 10:00:00 GMT"}], "update_date": "2021-01-05",
        "authors_parsed": [["Rivera", "Ana", ""], ["Chen", "Bo", ""]],
    }) + "\n"


def test_a_jsonl_file_over_the_limit_is_streamed_with_its_problems_by_line(tmp_path: Path) -> None:
    path = tmp_path / "arxiv-metadata-oai-snapshot.json"
    lines = [_snapshot_line(i) for i in range(MAX_FILE_BYTES // 450)]
    lines[7] = "{broken\n"
    with path.open("wb") as f:
        f.write("".join(lines[:9]).encode())
        f.write(_snapshot_line(99_999).replace("problem", "probl\u00e8me").encode("cp1252"))  # one non-UTF-8 line
        f.write("".join(lines[9:]).encode())
    assert path.stat().st_size > MAX_FILE_BYTES
    result = load_corpus([path])
    assert len(result.papers) == len(lines)  # every good line, plus the cp1252 one, minus the broken one
    by_line = {(i.line, i.message) for i in result.issues}
    assert any(line == 8 and m.startswith("not valid JSON") for line, m in by_line)
    assert any(line == 10 and "read as Windows-1252" in m for line, m in by_line) and len(by_line) == 2
    paper = next(p for p in result.papers if p.title == "Study 3")
    assert paper.authors == ["Ana Rivera", "Bo Chen"] and paper.year == 2021 and paper.categories == ["cs.LG", "stat.ML"]
    assert any("problème number 99999" in p.abstract for p in result.papers)


def test_reading_lines_holds_a_line_not_the_file(tmp_path: Path) -> None:
    import tracemalloc

    path = tmp_path / "big.jsonl"
    path.write_text("".join(_snapshot_line(i) for i in range(MAX_FILE_BYTES // 500)), encoding="utf-8")
    tracemalloc.start()
    count = sum(1 for _ in read_lines(path, []))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == MAX_FILE_BYTES // 500 and peak < 1_000_000  # bytes: a few lines, not 10 MB


def test_a_csv_over_the_limit_is_streamed_and_a_whole_document_format_is_refused_by_size(tmp_path: Path) -> None:
    rows = "".join(f'"Study {i}","Vaswani, Ashish; Shazeer, Noam","We study problem {i}; a simple method solves it well, in practice, on every benchmark we tried."\n' for i in range(120_000))
    table = tmp_path / "zotero.csv"
    table.write_text("Title,Author,Abstract Note\n" + rows, encoding="utf-8")
    assert table.stat().st_size > MAX_FILE_BYTES
    papers = load_corpus([table]).papers
    assert len(papers) == 120_000 and papers[5].title == "Study 5" and papers[5].authors == ["Ashish Vaswani", "Noam Shazeer"]
    bib = tmp_path / "big.bib"
    bib.write_text("@article{a,\n  title={T},\n  abstract={" + "x " * (MAX_FILE_BYTES // 2 + 10) + "}\n}\n", encoding="utf-8")
    issues = load_corpus([bib]).issues
    assert any("over the 10 MB limit for BibTeX files, which are read whole" in i.message and "JSON lines or CSV" in i.message for i in issues)


def test_a_windows_1252_csv_row_is_ingested_and_not_counted_as_skipped(tmp_path: Path) -> None:
    """Excel's semicolon CSV in cp1252: the row is read, so the encoding remark is kept, not a skipped line."""
    table = tmp_path / "excel.csv"
    table.write_bytes(
        "Title;Authors;Year;Abstract\n"
        "Équivariance in Point Clouds;Dupont, Élodie;2022;\"We design rotation-equivariant point cloud networks "
        "using spherical harmonics; rotations at test time no longer degrade accuracy.\"\n".encode("cp1252")
    )
    result = load_corpus([table])
    (paper,) = result.papers
    assert paper.title == "Équivariance in Point Clouds" and paper.authors == ["Élodie Dupont"] and paper.year == 2022
    (remark,) = result.issues
    assert "read as Windows-1252" in remark.message and remark.kept  # so `skipped` stays 0


def test_sentences_do_not_end_at_et_al_or_e_g() -> None:
    from assistant.text import split_sentences

    text = (
        "Generalization bounds are studied widely in learning theory today. However, in their survey Jiang et al. "
        "(2020) examine more than a dozen bounds and show that none of them is tight. Common choices, e.g. ResNet and VGG, are "
        "compared on three datasets at once. (2) Complementing this, we prove a lower bound for every such network."
    )
    assert split_sentences(text) == [
        "Generalization bounds are studied widely in learning theory today.",
        "However, in their survey Jiang et al. (2020) examine more than a dozen bounds and show that none of them is tight.",
        "Common choices, e.g. ResNet and VGG, are compared on three datasets at once.",
        "(2) Complementing this, we prove a lower bound for every such network.",
    ]


def test_a_sentence_ending_on_a_variable_ends_there_and_an_initial_does_not_end_one() -> None:
    """"… for every input dimension d. Experiments confirm …" was one sentence (the tokenizer took "d." for an
    initial), so an answer quoting the bound quoted the experiments with it."""
    from assistant.text import split_sentences

    text = (
        "The bound holds for every input dimension d. Experiments on synthetic data confirm the predicted scaling. "
        "Our estimator follows the framework of J. Smith on kernel methods for regression."
    )
    assert split_sentences(text) == [
        "The bound holds for every input dimension d.",
        "Experiments on synthetic data confirm the predicted scaling.",
        "Our estimator follows the framework of J. Smith on kernel methods for regression.",
    ]


def test_a_text_file_with_no_abstract_says_what_an_abstract_looks_like(tmp_path: Path) -> None:
    page = tmp_path / "one.txt"
    page.write_text("A Study of Things\nWe study things and find that they matter.\n")
    result = load_corpus([page])
    assert not result.papers and "no abstracts found; in a text or HTML file an abstract is a paragraph" in str(result.issues[0])
    (tmp_path / "refs.bib").write_text("% no entries\n")
    assert "refs.bib: no abstracts found" in [str(i) for i in load_corpus([tmp_path / "refs.bib"]).issues]  # no page advice


def test_a_csv_row_over_the_field_limit_is_skipped_and_the_rows_after_it_are_read() -> None:
    """One 145,000-character field made the csv module stop: the five good rows after it were lost, and the
    warning named no line."""
    from assistant.corpus import parse_csv

    abstract = "This is abstract {} about a method that is long enough to be read and kept as a paper here."
    rows = [f'a0,"{abstract.format(0)}"', f'big,"{"x" * 145_000}"', *(f'a{n},"{abstract.format(n)}"' for n in range(1, 6))]
    drafts, issues = parse_csv("title,abstract\n" + "\n".join(rows) + "\n", "big.csv")
    assert [d.title for d in drafts] == ["a0", "a1", "a2", "a3", "a4", "a5"]
    assert [(i.line, i.message.split(":")[0]) for i in issues] == [(3, "row skipped")]


def test_a_dot_bibtex_file_is_read_as_bibtex_alone_and_in_a_folder(tmp_path: Path) -> None:
    """`assistant export -o refs.bibtex` wrote a file `assistant ingest refs.bibtex` refused: an unsupported type."""
    entry = f"@article{{wide2024, title = {{Wide Feature Learning}}, author = {{Rivera, Ana}}, year = {{2024}}, abstract = {{{ABSTRACT_A}}}}}\n"
    (tmp_path / "refs.bibtex").write_text(entry)
    for given in (tmp_path / "refs.bibtex", tmp_path):
        result = load_corpus([given])
        assert not result.issues and [(p.title, p.authors, p.key) for p in result.papers] == [("Wide Feature Learning", ["Ana Rivera"], "wide2024")]


def test_authors_listed_in_json_are_read_as_lists_and_objects_write_them(tmp_path: Path) -> None:
    """"Vaswani, Ashish" in a JSON list is one name, turned around (kept as written, "Ashish Vaswani" found no paper
    and the exports swapped its parts); an object as CSL JSON writes one is a name, not Python's text of it."""
    from assistant.exports import to_csv

    abstract = "We study attention in depth; the method improves accuracy on standard benchmarks with fewer parameters."
    authors = ["Vaswani, Ashish", {"family": "García Márquez", "given": "Gabriel"}, {"name": "Bo Chen"}, "Ana Rivera"]
    (tmp_path / "a.jsonl").write_text(json.dumps({"title": "Attention", "abstract": abstract, "authors": authors}) + "\n")
    (paper,) = load_corpus([tmp_path]).papers
    assert paper.authors == ["Ashish Vaswani", "Gabriel García Márquez", "Bo Chen", "Ana Rivera"]
    assert paper.families.get("Gabriel García Márquez") == "García Márquez"
    assert "Vaswani, Ashish; García Márquez, Gabriel; Chen, Bo; Rivera, Ana" in to_csv([paper])
