"""Reference-manager and bulk-export files in: BibTeX, RIS, Zotero CSV, arXiv JSON lines and Atom, OpenAlex,
Semantic Scholar; metadata kept; unusable records named by file and line; unreadable named files exit 4."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.corpus import load_corpus
from assistant.formats import openalex_abstract, split_and

ABSTRACT = (
    "We propose a new simple network architecture, the Transformer, based solely on attention mechanisms, "
    "dispensing with recurrence and convolutions entirely. Experiments on two translation tasks show it is better."
)

def _abstract(n: int) -> str:
    """A distinct abstract for the n-th record of a test file."""
    return ABSTRACT.replace("Transformer", f"model number {n}")


BIB = r"""
@article{vaswani2017,
  title     = {Attention Is {All} You Need},
  author    = {Vaswani, Ashish and Shazeer, Noam and M{\"u}ller, J{\"o}rg},
  year      = {2017}, journal = {Advances in NeurIPS},
  eprint    = {1706.03762},
  archivePrefix = {arXiv},
  primaryClass = {cs.CL},
  abstract  = {We propose a new simple network architecture, the {T}ransformer, based solely on attention mechanisms, dispensing with recurrence and convolutions entirely. Experiments on two translation tasks show it is better.}
}

@inproceedings{noabstract,
  title = {A paper without an abstract},
  author = {Rivera, Ana},
  year = {2020}
}
"""

RIS = f"""TY  - JOUR
AU  - Rivera, Ana
AU  - Chen, Bo
TI  - Purring kittens
PY  - 2024
DO  - 10.1234/cats.5
AB  - {ABSTRACT.replace("Transformer", "kitten model")}
ER  - 

TY  - JOUR
TI  - No abstract here
ER  - 
"""

ZOTERO = (
    '"Key";"Publication Year";"Author";"Title";"Publication Title";"DOI";"Url";"Abstract Note"\n'
    f'"K1";"2021";"Rivera, Ana; Chen, Bo";"Zotero paper";"J. Tests";"10.1/z";"";"{ABSTRACT.replace("Transformer", "Zotero net")}"\n'
)

ARXIV_JSONL = json.dumps({
    "id": "2101.00001", "title": "An arXiv paper", "abstract": ABSTRACT.replace("Transformer", "arXiv net"),
    "authors": "A. One, B. Two and C. Three", "authors_parsed": [["One", "A.", ""], ["Two", "B.", ""], ["Three", "C.", ""]],
    "categories": "cs.LG stat.ML", "update_date": "2021-02-03", "versions": [{"version": "v1", "created": "Mon, 4 Jan 2021 10:00:00 GMT"}],
}) + "\n"

ATOM = f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
  <entry>
    <id>http://arxiv.org/abs/2301.00002v1</id>
    <published>2023-01-01T00:00:00Z</published>
    <title>An Atom paper</title>
    <summary>{ABSTRACT.replace("Transformer", "Atom net")}</summary>
    <author><name>Dana Four</name></author>
    <category term="cs.CL"/>
  </entry>
</feed>
"""

WORDS = ABSTRACT.replace("Transformer", "OpenAlex net").split()
OPENALEX = json.dumps({"results": [{
    "display_name": "An OpenAlex work", "publication_year": 2022, "doi": "https://doi.org/10.5/oa",
    "authorships": [{"author": {"display_name": "Eve Five"}}],
    "abstract_inverted_index": {w: [i for i, x in enumerate(WORDS) if x == w] for w in set(WORDS)},
    "primary_location": {"landing_page_url": None, "source": {"display_name": "OA Venue", "type": "conference"}},
    "type": "article",
}]})

S2 = json.dumps({"data": [{
    "paperId": "abc", "title": "A Semantic Scholar paper", "abstract": ABSTRACT.replace("Transformer", "S2 net"),
    "year": 2020, "authors": [{"name": "Fay Six"}], "externalIds": {"ArXiv": "2002.00003"}, "venue": "NeurIPS",
}]})


@pytest.fixture()
def library(tmp_path: Path) -> Path:
    folder = tmp_path / "library"
    folder.mkdir()
    (folder / "refs.bib").write_text(BIB)
    (folder / "refs.ris").write_text(RIS)
    (folder / "zotero.csv").write_text(ZOTERO)
    (folder / "arxiv.jsonl").write_text(ARXIV_JSONL)
    (folder / "query.atom").write_text(ATOM)
    (folder / "openalex.json").write_text(OPENALEX)
    (folder / "s2.json").write_text(S2)
    (folder / "notes.docx").write_bytes(b"PK\x03\x04 not ours")
    return folder


def test_every_format_becomes_papers_with_their_metadata(library: Path) -> None:
    result = load_corpus([library])
    by_title = {p.title: p for p in result.papers}
    assert set(by_title) == {"Attention Is All You Need", "Purring kittens", "Zotero paper", "An arXiv paper",
                             "An Atom paper", "An OpenAlex work", "A Semantic Scholar paper"}
    bib = by_title["Attention Is All You Need"]
    assert bib.authors == ["Ashish Vaswani", "Noam Shazeer", "Jörg Müller"] and bib.year == 2017
    assert bib.url == "https://arxiv.org/abs/1706.03762" and "the Transformer, based" in bib.abstract
    assert bib.categories == ["cs.CL"]
    ris = by_title["Purring kittens"]
    assert ris.authors == ["Ana Rivera", "Bo Chen"] and ris.doi == "10.1234/cats.5" and ris.url == "https://doi.org/10.1234/cats.5"
    zotero = by_title["Zotero paper"]
    assert zotero.authors == ["Ana Rivera", "Bo Chen"] and zotero.year == 2021 and zotero.venue == "J. Tests"
    arxiv = by_title["An arXiv paper"]
    assert arxiv.authors == ["A. One", "B. Two", "C. Three"] and arxiv.year == 2021
    assert arxiv.categories == ["cs.LG", "stat.ML"] and arxiv.url == "https://arxiv.org/abs/2101.00001"
    atom = by_title["An Atom paper"]
    assert atom.authors == ["Dana Four"] and atom.year == 2023 and atom.categories == ["cs.CL"]
    openalex = by_title["An OpenAlex work"]
    assert openalex.abstract == " ".join(WORDS) and openalex.authors == ["Eve Five"] and openalex.venue == "OA Venue"
    s2 = by_title["A Semantic Scholar paper"]
    assert s2.url == "https://arxiv.org/abs/2002.00003" and s2.venue == "NeurIPS" and s2.authors == ["Fay Six"]
    kinds = {title: p.work_type for title, p in by_title.items()}  # what each source says the work is
    assert kinds == {"Attention Is All You Need": "article", "Purring kittens": "article", "Zotero paper": None,
                     "An arXiv paper": "preprint", "An Atom paper": "preprint", "An OpenAlex work": "conference",
                     "A Semantic Scholar paper": None}  # on arXiv, but its venue is NeurIPS: of no known type
    where = {(i.source, i.line) for i in result.issues}
    assert ("refs.bib", 12) in where and ("refs.ris", 10) in where  # the line its record starts on and ("notes.docx", None) in where
    assert not any(i.refused for i in result.issues)  # inside a folder: warnings only


def test_bibtex_saved_as_txt_is_read_as_bibtex_not_as_a_page(tmp_path: Path) -> None:
    (tmp_path / "export.txt").write_text(BIB)
    papers = load_corpus([tmp_path / "export.txt"]).papers
    assert [p.title for p in papers] == ["Attention Is All You Need"] and not papers[0].abstract.startswith("abstract")


def test_a_named_file_nothing_could_be_read_from_exits_4_after_ingesting_the_rest(
    library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(tmp_path / "store"))
    code = main(["ingest", str(library / "refs.bib"), str(library / "notes.docx"), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 4 and out.startswith("1 new")
    assert "notes.docx: unsupported file type; the formats we read: .txt" in err and ".bib/.bibtex (BibTeX)" in err
    assert "refs.bib:12: entry 'noabstract' has no abstract field" in err
    assert "error: nothing could be ingested from notes.docx" in err
    main(["papers", "--json"])
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["authors"][0] == "Ashish Vaswani" and listed[0]["url"].endswith("1706.03762") and listed[0]["categories"] == ["cs.CL"]


@pytest.mark.parametrize(("given", "names"), [
    ("Vaswani, Ashish and Shazeer, Noam and Parmar, Niki", ["Ashish Vaswani", "Noam Shazeer", "Niki Parmar"]),
    ("A. Vaswani, N. Shazeer, and N. Parmar", ["A. Vaswani", "N. Shazeer", "N. Parmar"]),
    ("Ana Rivera and Bo Chen", ["Ana Rivera", "Bo Chen"]),
    ("Rivera, Ana; Chen, Bo", ["Ana Rivera", "Bo Chen"]),
    ("Ana Rivera, Bo Chen", ["Ana Rivera", "Bo Chen"]),
    # lists cut short: the marker is nobody's name, and the list says it is incomplete
    ("Ana Rivera, Christopher Ré, Bo Chen(+3 more)", ["Ana Rivera", "Christopher Ré", "Bo Chen", "et al."]),
    ("Vaswani, Ashish and Shazeer, Noam and others", ["Ashish Vaswani", "Noam Shazeer", "et al."]),
    ("A. Vaswani et al.", ["A. Vaswani", "et al."]),
    ("A. Vaswani; N. Shazeer; et al.", ["A. Vaswani", "N. Shazeer", "et al."]),  # our own CSV export
    ("et al.", []),
    ("Alan Others, Bo Chen", ["Alan Others", "Bo Chen"]),
])
def test_author_strings_split_into_names(given: str, names: list[str]) -> None:
    assert split_and(given) == names


def test_openalex_abstracts_are_rebuilt_in_word_order() -> None:
    assert openalex_abstract({"b": [1, 3], "a": [0], "c": [2]}) == "a b c b"


def test_citations_carry_authors_venue_year_and_link_in_json_and_the_reference_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(tmp_path / "store"))
    (tmp_path / "refs.bib").write_text(BIB)
    assert main(["ingest", str(tmp_path / "refs.bib"), "--quiet"]) == 0
    capsys.readouterr()
    question = "Which architecture is based solely on attention mechanisms?"
    assert main(["ask", question, "--json", "--local"]) == 0
    cited = json.loads(capsys.readouterr().out)["citations"][0]
    assert cited["authors"] == ["Ashish Vaswani", "Noam Shazeer", "Jörg Müller"] and cited["year"] == 2017
    assert cited["url"] == "https://arxiv.org/abs/1706.03762" and cited["venue"] == "Advances in NeurIPS"
    assert main(["ask", question, "--local"]) == 0
    reference = "[1] Attention Is All You Need — Ashish Vaswani et al., Advances in NeurIPS, 2017, https://arxiv.org/abs/1706.03762"
    assert reference in capsys.readouterr().out


def test_a_venue_of_more_than_one_word_is_set_off_from_the_year() -> None:
    from assistant.types import venue_and_year

    assert venue_and_year("Advances in Neural Information Processing Systems 34", 2021) == (
        "Advances in Neural Information Processing Systems 34, 2021"
    )
    assert venue_and_year("Advances in NeurIPS", 2017) == "Advances in NeurIPS, 2017"
    assert venue_and_year("Journal of Machine Learning Research", 2019) == "Journal of Machine Learning Research, 2019"
    assert venue_and_year("NeurIPS", 2021) == "NeurIPS 2021"
    assert venue_and_year("NAACL 2020", 2020) == "NAACL 2020"  # the year once
    assert (venue_and_year(None, 2020), venue_and_year("JMLR", None), venue_and_year(None, None)) == ("2020", "JMLR", "")


def test_an_author_list_cut_short_is_never_shown_as_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Google Scholar's BibTeX ends long lists with "and others": two names of seven must not read as both authors."""
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(tmp_path / "store"))
    (tmp_path / "refs.bib").write_text(BIB.replace(r"and M{\"u}ller, J{\"o}rg}", "and others}"))
    assert main(["ingest", str(tmp_path / "refs.bib"), "--quiet"]) == 0
    capsys.readouterr()
    question = "Which architecture is based solely on attention mechanisms?"
    assert main(["ask", question, "--local"]) == 0
    assert "[1] Attention Is All You Need — Ashish Vaswani et al., Advances in NeurIPS, 2017" in capsys.readouterr().out  # not "and Noam Shazeer"
    assert main(["ask", "Who wrote Attention Is All You Need?", "--json", "--local"]) == 0
    assert "is by Ashish Vaswani, Noam Shazeer and others" in json.loads(capsys.readouterr().out)["answer"]
    assert main(["papers", "--json"]) == 0
    (paper,) = json.loads(capsys.readouterr().out)
    assert paper["authors"] == ["Ashish Vaswani", "Noam Shazeer", "et al."]
    assert main(["export", paper["id"], "--format", "bibtex"]) == 0
    exported = capsys.readouterr().out
    assert "Ashish Vaswani and Noam Shazeer and others" in exported
    (tmp_path / "again.bib").write_text(exported)  # and it reads back the same
    assert load_corpus([tmp_path / "again.bib"]).papers[0].authors == ["Ashish Vaswani", "Noam Shazeer", "et al."]
    assert main(["retrieve", question, "--author", "al", "--json", "--local"]) == 0
    assert json.loads(capsys.readouterr().out) == []  # the marker is nobody's name
    assert main(["export", paper["id"], "--format", "ris"]) == 0  # RIS: a note, not an author named "et al."
    ris = capsys.readouterr().out
    assert "AU  - et al." not in ris and "N1  - Author list incomplete (et al.)" in ris
    (tmp_path / "again.ris").write_text(ris)
    assert load_corpus([tmp_path / "again.ris"]).papers[0].authors == ["Ashish Vaswani", "Noam Shazeer", "et al."]


def test_export_records_in_json_lines_are_read_in_their_own_shape(tmp_path: Path) -> None:
    s2 = json.loads(S2)["data"][0]
    arxiv = {"id": "2102.00004", "title": "Plain arXiv line", "abstract": ABSTRACT.replace("Transformer", "plain net"),
             "authors": "A. One and B. Two", "categories": "cs.LG", "update_date": "2021-02-05"}
    (tmp_path / "mixed.jsonl").write_text(json.dumps(s2) + "\n" + json.dumps(arxiv) + "\n")
    papers = {p.title: p for p in load_corpus([tmp_path / "mixed.jsonl"]).papers}
    assert papers["A Semantic Scholar paper"].authors == ["Fay Six"] and papers["A Semantic Scholar paper"].year == 2020
    plain = papers["Plain arXiv line"]
    assert plain.authors == ["A. One", "B. Two"] and plain.url == "https://arxiv.org/abs/2102.00004" and plain.id != "2102.00004"


MATH = r"$O(1/\sqrt{n})$, $\mathcal{O}(n \log n)$ and $L_{\mathrm{sym}} = I - D^{-1/2} W D^{-1/2}$, or \(x_{i}\) and \[y^{2}\]"


def test_bibtex_decodes_latex_outside_math_and_keeps_math_verbatim(tmp_path: Path) -> None:
    """Braces inside math are the formula's own: `$\\sqrt{n}$` must not become `$\\sqrtn$`."""
    (tmp_path / "math.bib").write_text(
        "@article{m, title = {{S}pectral Rates in $\\mathcal{O}(n)$}, author = {Sch{\\\"o}lkopf, Bernhard},\n"
        f"  abstract = {{{{S}}pectral clustering na{{\\\"i}}vely converges at rate {MATH}, which is "
        "preferable\\footnote{See Section 3.} in practice for \\textit{most} graphs of interest.}}\n}\n"
    )
    (paper,) = load_corpus([tmp_path / "math.bib"]).papers
    assert paper.title == r"Spectral Rates in $\mathcal{O}(n)$" and paper.authors == ["Bernhard Schölkopf"]
    assert paper.abstract == (
        f"Spectral clustering naïvely converges at rate {MATH}, which is preferable (See Section 3.) in practice "
        "for most graphs of interest."
    )


def test_an_abstracts_own_citations_are_not_stored_as_cit(tmp_path: Path) -> None:
    """`iterations~\\cite{deBortoli2021}.` was stored as "iterations <cit.>." (the decoder's word for a citation), and
    every answer quoting the sentence showed it."""
    from assistant.latex import readable_latex

    (tmp_path / "cite.bib").write_text(
        "@article{c, title = {Bridges}, url = {https://x.org/~lab2021ab/a\\_b},\n  abstract = {We solve the bridge exactly in "
        "the limit of infinite iterations~\\cite{deBortoli2021}. As \\citet{chen2022} showed, it is fast "
        "\\parencite[p.~3]{song2021}.}\n}\n"
    )
    (paper,) = load_corpus([tmp_path / "cite.bib"]).papers
    assert paper.abstract == (
        "We solve the bridge exactly in the limit of infinite iterations. As earlier work showed, it is fast."
    )
    assert paper.url == "https://x.org/~lab2021ab/a_b"  # a link keeps its "~" (decoded, it was a space)
    assert readable_latex("in the limit of infinite iterations <cit.>.") == "in the limit of infinite iterations."  # stored before


def test_a_bare_percent_sign_in_bibtex_is_a_percent_not_a_comment_ending_the_abstract(tmp_path: Path) -> None:
    """"by over 90%, decreasing …" was stored as "… by over 90": read as LaTeX, the sign began a comment."""
    (tmp_path / "pct.bib").write_text(
        "@article{p, title = {A 100% Sparse Net}, author = {Doe, Jane}, url = {http://x.org/a%20b},\n"
        "  abstract = {Pruning removes over 90% of weights, and 95\\% intervals hold. "
        "Accuracy is kept on every benchmark we tried.}\n}\n"
    )
    (paper,) = load_corpus([tmp_path / "pct.bib"]).papers
    assert paper.title == "A 100% Sparse Net" and paper.url == "http://x.org/a%20b"
    assert paper.abstract == (
        "Pruning removes over 90% of weights, and 95% intervals hold. Accuracy is kept on every benchmark we tried."
    )


def test_bibtex_strings_joined_with_hash_are_put_together(tmp_path: Path) -> None:
    """`booktitle = pre # "Neural …"` was stored as the venue "pre # \"Neural …\"" (one macro alone was resolved)."""
    abstract = "An abstract long enough to be read, about how BibTeX joins strings, macros and months: {}."
    (tmp_path / "join.bib").write_text(
        '@string{pre = "Proceedings of the "}\n@string{nips = {Neural Information Processing Systems}}\n'
        f'@inproceedings{{a, title = {{A}}, booktitle = pre # "Neural Information " # {{Processing Systems}}, '
        f'year = 2020, abstract = {{{abstract.format("one")}}}}}\n'
        f"@inproceedings{{b, title = {{B # 2}}, booktitle = pre # nips, year = 2019, abstract = {{{abstract.format('#')}}}}}\n"
    )
    papers = load_corpus([tmp_path / "join.bib"]).papers
    assert {p.venue for p in papers} == {"Proceedings of the Neural Information Processing Systems"}
    assert sorted(p.title for p in papers) == ["A", "B # 2"] and any(p.abstract.endswith("months: #.") for p in papers)


def test_bibtex_keywords_are_split_on_commas_and_semicolons_not_on_spaces(tmp_path: Path) -> None:
    """Zotero writes arXiv subjects as keywords: "Computer Science - Machine Learning" is one category."""
    (tmp_path / "zotero.bib").write_text(
        "@article{z, title = {Zotero keywords}, year = {2021}, abstract = {" + ABSTRACT + "},\n"
        "  keywords = {Computer Science - Machine Learning, Statistics - Machine Learning;  ; graph networks}}\n"
    )
    (paper,) = load_corpus([tmp_path / "zotero.bib"]).papers
    assert paper.categories == ["cs.LG", "stat.ML", "graph networks"]  # arXiv's subject names read as its codes


def test_arxiv_subject_names_are_read_as_their_codes_so_category_filters_find_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Zotero's tags for arXiv papers ("Computer Science - Computer Vision and Pattern Recognition") in a CSV
    export: `--category cs.CV` and `--category cs` missed them."""
    from assistant.formats import arxiv_code

    assert arxiv_code("Computer Science - Computation and Language") == "cs.CL"
    assert arxiv_code("Mathematics - Optimization and Control") == "math.OC"
    assert arxiv_code("Biology - Machine Learning") == "Biology - Machine Learning"  # no such archive: as given
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(tmp_path / "store"))
    rows = 'Key,Title,Abstract Note,Manual Tags\nk1,Seeing things,"' + ABSTRACT + '",Computer Science - Computer Vision and Pattern Recognition; deep learning\n'
    (tmp_path / "zotero.csv").write_text(rows)
    assert main(["ingest", str(tmp_path / "zotero.csv"), "--quiet"]) == 0
    capsys.readouterr()
    for wanted in ("cs.CV", "cs"):
        assert main(["retrieve", "attention", "--category", wanted, "--json", "--local"]) == 0
        assert [p["title"] for p in json.loads(capsys.readouterr().out)] == ["Seeing things"], wanted


def test_a_second_bibtex_entry_under_a_used_key_is_kept_with_a_warning(tmp_path: Path) -> None:
    """DBLP's and hand-merged files repeat keys; bibtexparser sets the second entry aside, undecoded."""
    second = ABSTRACT.replace("Transformer", "Transf{\\\"o}rmer")
    (tmp_path / "dup.bib").write_text(BIB + "\n@article{vaswani2017, title = {Again}, author = {Rivera, Ana},\n"
                                      f"  year = {{2018}}, abstract = {{{second}}}}}\n")
    result = load_corpus([tmp_path / "dup.bib"])
    again = next(p for p in result.papers if p.title == "Again")
    assert again.authors == ["Ana Rivera"] and again.year == 2018 and "the Transförmer, based" in again.abstract
    assert len(result.papers) == 2
    (warning,) = [i for i in result.issues if "duplicate" in i.message]
    assert str(warning) == f"dup.bib:18: duplicate key 'vaswani2017': this entry is kept as {again.id}" and warning.kept


def test_metadata_is_found_where_dblp_biblatex_and_zotero_csv_keep_it(tmp_path: Path) -> None:
    """DBLP's year sits on the @proceedings an entry crossrefs; BibLaTeX names the journal `journaltitle`;
    Zotero's CSV leaves "Publication Year" empty when it has only a Date."""
    (tmp_path / "dblp.bib").write_text(
        "@proceedings{DBLP:conf/icml/2019, title = {Proceedings of ICML 2019}, booktitle = {ICML 2019}, year = {2019}}\n"
        "@inproceedings{DBLP:conf/icml/Z19, author = {Hongyi Zhang}, title = {Fixup}, crossref = {dblp:conf/ICML/2019},\n"
        f"  abstract = {{{ABSTRACT}}}}}\n"
        "@article{wu2021, title = {BibLaTeX}, journaltitle = {Journal of Machine Learning Research}, date = {2021-03},\n"
        f"  eprinttype = {{arxiv}}, eprint = {{cs/0112017}}, abstract = {{{ABSTRACT.replace('Transformer', 'BibLaTeX net')}}}}}\n"
    )
    (tmp_path / "zotero.csv").write_text(
        '"Key","Publication Year","Date","Title","Abstract Note","Extra"\n'
        f'"K1","","2021-07-15","Dated only","{ABSTRACT.replace("Transformer", "Zotero net")}",""\n'
        # an arXiv id only in "Extra": the citation had no link
        f'"K2","2022","","Preprint","{ABSTRACT.replace("Transformer", "Extra net")}","arXiv: 2203.15556"\n'
    )
    result = load_corpus([tmp_path])
    by_title = {p.title: p for p in result.papers}
    assert (by_title["Fixup"].year, by_title["Fixup"].venue) == (2019, "ICML 2019")
    biblatex = by_title["BibLaTeX"]
    assert (biblatex.year, biblatex.venue, biblatex.url) == (2021, "Journal of Machine Learning Research", "https://arxiv.org/abs/cs/0112017")
    assert by_title["Dated only"].year == 2021 and by_title["Dated only"].url is None
    assert by_title["Preprint"].url == "https://arxiv.org/abs/2203.15556"
    assert result.issues == []  # the @proceedings is a container, not a paper without an abstract


def test_a_crossref_gives_a_paper_only_its_containers_fields(tmp_path: Path) -> None:
    """The volume's DOI and URL became every paper's, and an untitled paper took the volume's title."""
    (tmp_path / "vol.bib").write_text(
        "@proceedings{vol, title = {Proceedings of X 2020}, year = {2020}, doi = {10.1007/978-3-030-00000-0},\n"
        "  url = {https://link.springer.com/book/x}, publisher = {Springer}}\n"
        "@inproceedings{a, author = {Ana Rivera}, crossref = {vol},\n"
        f"  abstract = {{{ABSTRACT}}}}}\n"
    )
    (paper,) = load_corpus([tmp_path / "vol.bib"]).papers
    assert (paper.year, paper.venue, paper.doi) == (2020, "Proceedings of X 2020", None)  # its title: the venue
    assert not paper.has_title and paper.url is None


def test_bibtex_names_keep_their_generational_part_last(tmp_path: Path) -> None:
    """BibTeX's "Last, Jr, First" form: "Smith, Jr., John" is John Smith Jr., not "Jr., John Smith"."""
    (tmp_path / "jr.bib").write_text(
        "@article{jr, title = {Juniors}, abstract = {" + ABSTRACT + "},\n"
        "  author = {von Luxburg, Ulrike and Smith, Jr., John and King, III, Martin Luther and Jean de la Fontaine}}\n"
    )
    (paper,) = load_corpus([tmp_path / "jr.bib"]).papers
    assert paper.authors == ["Ulrike von Luxburg", "John Smith Jr.", "Martin Luther King III", "Jean de la Fontaine"]


def test_a_broken_bibtex_entry_is_reported_once_by_us_not_by_bibtexparser_s_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """bibtexparser logged 'Parsing of `@article` block (line 0) aborted on line 7' before our own warning."""
    (tmp_path / "cut.bib").write_text(
        BIB + "@article{cut2022,\n  title={Truncated},\n  abstract={This download was interrupted and the\n"
    )
    result = load_corpus([tmp_path / "cut.bib"])
    assert [p.title for p in result.papers] == ["Attention Is All You Need"]
    assert "cut.bib:17: unreadable BibTeX entry '@article{cut2022' (a brace or quote left open, or a comma missing)" in map(str, result.issues)
    assert not [r for r in caplog.records if r.name.startswith("bibtexparser")]


def test_a_comma_left_out_between_two_fields_is_put_back_and_said(tmp_path: Path) -> None:
    """`title = {No comma here}` then `author = {…},` on the next line: bibtexparser read one title, "No comma here
    author = Z, Z", and no authors, without a word. A closing brace or quote then a field on the next line is
    read as two fields, and the file's line is named."""
    (tmp_path / "nocomma.bib").write_text(
        BIB + "@article{nocomma,\n  title = {No comma here}\n  author = {Zhang, Wei},\n  year = \"2021\"\n"
        "  abstract = {" + _abstract(2) + "}\n}\n"
    )
    result = load_corpus([tmp_path / "nocomma.bib"])
    paper = next(p for p in result.papers if p.key == "nocomma")
    assert (paper.title, paper.authors, paper.year) == ("No comma here", ["Wei Zhang"], 2021)
    (issue,) = [i for i in result.issues if "comma" in i.message]
    assert issue.kept and "'author' on line 19" in issue.message and "'abstract' on line 21" in issue.message
    assert str(issue).startswith("nocomma.bib:17: ")
    (tmp_path / "nocomma.bib").write_text(BIB)  # a file with its commas: no remark
    assert not [i for i in load_corpus([tmp_path / "nocomma.bib"]).issues if "comma" in i.message]


def test_a_year_field_naming_no_year_is_said_not_dropped_silently(tmp_path: Path) -> None:
    """`year = {n.d.}` (Zotero's "no date"), RIS's `PY  - in press`: the paper was stored without a year, and nothing
    said so, so "(n.d.)" vanished from its citations unexplained. The paper is still kept; a readable year is not
    remarked on."""
    (tmp_path / "nd.bib").write_text(
        "@article{nd,\n  title = {Undated},\n  year = {n.d.},\n  abstract = {" + _abstract(3) + "}\n}\n"
        "@article{dated,\n  title = {Dated},\n  year = {2021a},\n  abstract = {" + _abstract(4) + "}\n}\n"
    )
    (tmp_path / "press.ris").write_text(f"TY  - JOUR\nTI  - Pressed\nPY  - in press\nAB  - {_abstract(5)}\nER  - \n")
    result = load_corpus([tmp_path / "nd.bib", tmp_path / "press.ris"])
    assert {p.title: p.year for p in result.papers} == {"Undated": None, "Dated": 2021, "Pressed": None}
    said = sorted(str(i) for i in result.issues if i.kept)
    assert said == [
        "nd.bib:1: year 'n.d.' names no year: the paper is stored without one",
        "press.ris:1: year 'in press' names no year: the paper is stored without one",
    ]


def test_xml_that_is_not_an_atom_feed_says_so_and_endnote_xml_points_to_ris(tmp_path: Path) -> None:
    """EndNote's XML has <abstract>s, so 'no abstracts found' read as a bug; it is another format."""
    (tmp_path / "endnote.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8" ?><xml><records><record><titles><title>T</title></titles>'
        f"<abstract>{ABSTRACT}</abstract></record></records></xml>"
    )
    (tmp_path / "other.xml").write_text("<catalog><book>no</book></catalog>")
    issues = {str(i) for i in load_corpus([tmp_path]).issues}
    assert issues == {
        (
            "endnote.xml: not an arXiv Atom feed (its root element is <xml>); EndNote XML is not supported: "
            "export the library from EndNote as RIS instead"
        ),
        "other.xml: not an arXiv Atom feed (its root element is <catalog>)",
    }


def test_a_json_document_names_an_unusable_record_by_its_number_and_id_not_a_line(tmp_path: Path) -> None:
    """An OpenAlex page is one line: 'openalex.json:2: missing abstract' pointed at a line the file does not have."""
    page = json.loads(OPENALEX)
    page["results"].append({"id": "https://openalex.org/W3", "title": "No abstract", "abstract_inverted_index": None, "authorships": []})
    page["results"].append({"title": "Neither", "abstract": ""})
    (tmp_path / "openalex.json").write_text(json.dumps(page))
    result = load_corpus([tmp_path / "openalex.json"])
    assert [p.title for p in result.papers] == ["An OpenAlex work"]
    assert [str(i) for i in result.issues] == [
        (  # the source's own gap, not a broken file
            "openalex.json: record 2 (https://openalex.org/W3): OpenAlex has no abstract for this work (its "
            "abstract_inverted_index is empty)"
        ),
        "openalex.json: record 3: missing 'abstract'",
    ]


def test_the_kind_of_work_is_read_as_each_source_names_it(tmp_path: Path) -> None:
    """@inproceedings, @phdthesis (its school is where it appeared), @misc with an arXiv eprint, Zotero's Item
    Type, Semantic Scholar's publicationTypes, RIS's CPAPER, a JSON file's own "type"; @misc alone is unknown."""
    (tmp_path / "a.bib").write_text(
        f"@inproceedings{{a, title={{One}}, booktitle={{Proc. ICML}}, publisher={{PMLR}}, abstract={{{_abstract(1)}}}}}\n"
        f"@phdthesis{{b, title={{Two}}, school={{MIT}}, abstract={{{_abstract(2)}}}}}\n"
        f"@misc{{c, title={{Three}}, eprint={{2101.00001}}, archivePrefix={{arXiv}}, publisher={{arXiv}}, abstract={{{_abstract(3)}}}}}\n"
        f"@misc{{d, title={{Four}}, howpublished={{\\url{{https://x.org}}}}, abstract={{{_abstract(4)}}}}}\n"
    )
    (tmp_path / "z.csv").write_text(f'Item Type,Title,Abstract Note,Publication Title\nbookSection,Five,"{_abstract(5)}",A Book\n')
    (tmp_path / "s2.json").write_text(json.dumps([{"paperId": "x", "title": "Six", "abstract": _abstract(6),
                                                   "publicationTypes": ["Review", "Conference"], "externalIds": {}}]))
    (tmp_path / "r.ris").write_text(f"TY  - CPAPER\nTI  - Seven\nT2  - Proc. NeurIPS\nAB  - {_abstract(7)}\nER  - \n")
    (tmp_path / "own.jsonl").write_text(json.dumps({"title": "Eight", "abstract": _abstract(8), "type": "techreport"}) + "\n")
    papers = {p.title: p for p in load_corpus([tmp_path]).papers}
    assert {t: (p.work_type, p.venue) for t, p in papers.items()} == {
        "One": ("conference", "Proc. ICML"), "Two": ("thesis", "MIT"), "Three": ("preprint", None), "Four": (None, None),
        "Five": ("chapter", "A Book"), "Six": ("conference", None), "Seven": ("conference", "Proc. NeurIPS"),
        "Eight": ("report", None),
    }


def test_zotero_csl_json_is_read_with_its_names_date_container_and_type(tmp_path: Path) -> None:
    """CSL JSON (Zotero's "Export Library… → CSL JSON", Mendeley, pandoc): an array of items whose authors
    are {family, given} and whose date is issued.date-parts; the Zotero item URI is not the paper's id."""
    items = [
        {"id": "http://zotero.org/users/1/items/ABCD", "type": "paper-conference", "title": "Kernels for Wide Nets",
         "container-title": "Proceedings of ICML", "author": [{"family": "Rivera", "given": "Ana"}, {"literal": "DeepMind"}],
         "issued": {"date-parts": [[2021, 7]]}, "DOI": "10.1/x", "abstract": ABSTRACT.replace("Transformer", "CSL net"),
         "keyword": "kernels, wide networks"},
        {"id": "k2", "type": "article", "title": "A Preprint", "number": "arXiv:2101.00001 [cs]",
         "author": [{"family": "Chen", "given": "Bo", "non-dropping-particle": "van"}], "issued": {"date-parts": [["2020"]]},
         "abstract": ABSTRACT.replace("Transformer", "preprint net")},
        {"id": "k3", "type": "article-journal", "title": "No abstract", "author": [{"family": "X"}]},
    ]
    (tmp_path / "library.json").write_text(json.dumps(items))
    result = load_corpus([tmp_path / "library.json"])
    one, two = result.papers
    assert (one.authors, one.year, one.venue, one.work_type, one.doi) == (
        ["Ana Rivera", "DeepMind"], 2021, "Proceedings of ICML", "conference", "10.1/x")
    assert one.categories == ["kernels", "wide networks"] and not one.id.startswith("http")
    assert (two.authors, two.year, two.work_type, two.url) == (["Bo van Chen"], 2020, "preprint", "https://arxiv.org/abs/2101.00001")
    assert any("this CSL JSON item has no abstract" in str(i) for i in result.issues)


def test_a_manuscript_is_a_preprint_in_csl_json_as_in_bibtex_and_ris(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text(json.dumps([{"type": "manuscript", "title": "M", "author": [{"family": "X"}], "abstract": _abstract(1)}]))
    (tmp_path / "m.bib").write_text(f"@unpublished{{u, title={{U}}, abstract={{{_abstract(2)}}}}}\n")
    (tmp_path / "m.ris").write_text(f"TY  - MANSCPT\nTI  - R\nAB  - {_abstract(3)}\nER  - \n")
    assert {p.title: p.work_type for p in load_corpus([tmp_path]).papers} == {"M": "preprint", "U": "preprint", "R": "preprint"}


def test_arxiv_preprints_are_known_however_a_tool_writes_them_in_bibtex(tmp_path: Path) -> None:
    """Zotero's @misc with the id in its note, Google Scholar's @article in "arXiv preprint arXiv:…", DBLP's
    @article in CoRR: preprints with their arXiv ids, not journal articles; a real journal stays one."""
    (tmp_path / "a.bib").write_text(
        f"@misc{{z, title={{Z}}, url={{http://arxiv.org/abs/2201.11903}}, publisher={{arXiv}}, note={{arXiv:2201.11903 [cs]}}, abstract={{{_abstract(1)}}}}}\n"
        f"@article{{g, title={{G}}, journal={{arXiv preprint arXiv:1412.6980}}, year={{2014}}, abstract={{{_abstract(2)}}}}}\n"
        f"@article{{d, title={{D}}, journal={{CoRR}}, eprinttype={{arXiv}}, eprint={{2106.09685}}, abstract={{{_abstract(3)}}}}}\n"
        f"@article{{j, title={{J}}, journal={{Journal of Machine Learning Research}}, abstract={{{_abstract(4)}}}}}\n"
    )
    papers = {p.title: p for p in load_corpus([tmp_path]).papers}
    assert {t: (p.work_type, p.venue, p.url) for t, p in papers.items()} == {
        "Z": ("preprint", None, "http://arxiv.org/abs/2201.11903"),
        "G": ("preprint", None, "https://arxiv.org/abs/1412.6980"),
        "D": ("preprint", None, "https://arxiv.org/abs/2106.09685"),
        "J": ("article", "Journal of Machine Learning Research", None),
    }


def test_a_paper_in_two_files_takes_year_and_doi_from_the_version_its_venue_is(tmp_path: Path) -> None:
    """arXiv's 2014 preprint and DBLP's ICLR 2015 paper: ICLR's year, no arXiv DOI on the conference paper."""
    (tmp_path / "arxiv.bib").write_text(
        f"@misc{{k, title={{Adam}}, year={{2014}}, eprint={{1412.6980}}, archivePrefix={{arXiv}}, doi={{10.48550/arXiv.1412.6980}}, abstract={{{ABSTRACT}}}}}\n")
    (tmp_path / "dblp.bib").write_text(
        f"@inproceedings{{d, title={{Adam}}, booktitle={{3rd International Conference on Learning Representations, ICLR 2015}}, year={{2015}}, abstract={{{ABSTRACT}}}}}\n")
    for order in (["arxiv.bib", "dblp.bib"], ["dblp.bib", "arxiv.bib"]):
        (paper,) = load_corpus([tmp_path / name for name in order]).papers
        assert (paper.work_type, paper.year, paper.doi) == ("conference", 2015, None) and "ICLR 2015" in (paper.venue or "")


def test_a_masters_thesis_is_told_apart_in_bibtex_biblatex_ris_and_csl(tmp_path: Path) -> None:
    (tmp_path / "a.bib").write_text(
        f"@mastersthesis{{m, title={{M1}}, school={{ETH Zurich}}, abstract={{{_abstract(1)}}}}}\n"
        f"@thesis{{b, title={{M2}}, type={{mathesis}}, institution={{MIT}}, abstract={{{_abstract(2)}}}}}\n"
        f"@phdthesis{{p, title={{P1}}, school={{MIT}}, abstract={{{_abstract(3)}}}}}\n"
    )
    (tmp_path / "r.ris").write_text(f"TY  - THES\nTI  - M3\nM3  - Master's thesis\nPB  - KTH\nAB  - {_abstract(4)}\nER  - \n")
    (tmp_path / "c.json").write_text(json.dumps([
        {"type": "thesis", "genre": "MSc thesis", "title": "M4", "author": [{"family": "X"}], "abstract": _abstract(5)},
        {"type": "thesis", "genre": "Ph.D. dissertation", "title": "P2", "author": [{"family": "Y"}], "abstract": _abstract(6)},
    ]))
    # Zotero's CSV: Item Type "thesis", its Type the degree (our CSV export came back a PhD thesis)
    (tmp_path / "z.csv").write_text(
        f'Item Type,Title,Abstract Note,Publisher,Type\nthesis,M5,"{_abstract(7)}",UCL,Master\'s thesis\n'
        f'thesis,P3,"{_abstract(8)}",UCL,PhD thesis\njournalArticle,A1,"{_abstract(9)}",,\n'
    )
    papers = {p.title: (p.work_type, p.venue) for p in load_corpus([tmp_path]).papers}
    assert papers == {
        "M1": ("masters_thesis", "ETH Zurich"), "M2": ("masters_thesis", "MIT"), "P1": ("thesis", "MIT"),
        "M3": ("masters_thesis", "KTH"), "M4": ("masters_thesis", None), "P2": ("thesis", None),
        "M5": ("masters_thesis", "UCL"), "P3": ("thesis", "UCL"), "A1": ("article", None),
    }
    from assistant.exports import to_csv

    (tmp_path / "back").mkdir()
    (tmp_path / "back" / "all.csv").write_text(to_csv(load_corpus([tmp_path]).papers))
    assert {p.title: (p.work_type, p.venue) for p in load_corpus([tmp_path / "back"]).papers} == papers


def test_where_a_thesis_appeared_and_a_csl_date_written_as_text(tmp_path: Path) -> None:
    (tmp_path / "z.csv").write_text(f'Item Type,Title,Abstract Note,Publisher\nthesis,T1,"{_abstract(1)}",MIT\n')
    (tmp_path / "b.bib").write_text(f"@thesis{{t, title={{T2}}, type={{phdthesis}}, institution={{Stanford University}}, abstract={{{_abstract(2)}}}}}\n")
    (tmp_path / "c.json").write_text(json.dumps([
        {"type": "article-journal", "title": "T3", "issued": "2020-07-12", "author": [{"family": "X"}], "abstract": _abstract(3)},
        {"type": "article-journal", "title": "T4", "issued": {"literal": "Spring 2019"}, "author": [{"family": "Y"}], "abstract": _abstract(4)},
    ]))
    papers = {p.title: p for p in load_corpus([tmp_path]).papers}
    assert (papers["T1"].work_type, papers["T1"].venue) == ("thesis", "MIT")
    assert (papers["T2"].work_type, papers["T2"].venue) == ("thesis", "Stanford University")
    assert (papers["T3"].year, papers["T4"].year) == (2020, 2019)


def test_a_ris_reference_with_no_closing_er_line_is_read_with_a_warning(tmp_path: Path) -> None:
    """A cut-off RIS file's last reference (no "ER  -") was dropped without a word; one missing its "ER" before the
    next "TY" ran into it."""
    abstract = "The {} reference has an abstract long enough to be ingested, about pruning and quantization."
    (tmp_path / "cut.ris").write_text(
        f"TY  - JOUR\nTI  - First\nAB  - {abstract.format('first')}\n"  # no ER before the next TY
        f"TY  - JOUR\nTI  - Second\nAB  - {abstract.format('second')}\nER  - \n\n"
        f"TY  - JOUR\nTI  - Third\nAB  - {abstract.format('third')}\n"  # the file ends here
    )
    found = load_corpus([tmp_path / "cut.ris"])
    assert [p.title for p in found.papers] == ["First", "Second", "Third"]
    assert [(i.line, i.kept) for i in found.issues] == [(1, True), (9, True)]
    assert all("no closing “ER  -” line" in i.message for i in found.issues)


def test_ris_venues_where_zotero_endnote_and_books_keep_them(tmp_path: Path) -> None:
    """Zotero's CONF with the proceedings in C3, EndNote's full journal name in JF, a book's title in BT."""
    def record(n: int, kind: str, tag: str, venue: str) -> str:
        return f"TY  - {kind}\nTI  - R{n}\n{tag}  - {venue}\nAU  - Smith, John, Jr.\nAB  - {ABSTRACT.replace('Transformer', f'model {n}')}\nER  - \n\n"

    (tmp_path / "r.ris").write_text(
        record(1, "CONF", "C3", "Proceedings of NeurIPS 2020") + record(2, "JOUR", "JF", "IEEE Transactions on Neural Networks")
        + record(3, "CHAP", "BT", "Proceedings of the 24th ACM SIGKDD")
    )
    papers = {p.title: p for p in load_corpus([tmp_path]).papers}
    assert {t: p.venue for t, p in papers.items()} == {
        "R1": "Proceedings of NeurIPS 2020", "R2": "IEEE Transactions on Neural Networks", "R3": "Proceedings of the 24th ACM SIGKDD"}
    assert papers["R1"].authors == ["John Smith Jr."]  # RIS's "Last, First, Suffix"


def test_volume_issue_pages_and_publisher_are_read_where_each_format_keeps_them(tmp_path: Path) -> None:
    """A reference without them is not whole: an export of it could not be cited from."""
    (tmp_path / "a.bib").write_text(
        "@article{a, title = {Bib}, journal = {JMLR}, volume = {21}, number = {140}, pages = {1--67},\n"
        f"  publisher = {{Microtome {{\\&}} Co}}, abstract = {{{_abstract(1)}}}}}\n"
        "@article{b, title = {BibLaTeX}, journaltitle = {JMLR}, issue = {4}, pages = {e1023},\n"
        f"  abstract = {{{_abstract(2)}}}}}\n"
        "@book{c, title = {Book}, publisher = {MIT Press}, pages = {xii+300}, abstract = {" + _abstract(3) + "}}\n"
    )
    (tmp_path / "b.ris").write_text(
        f"TY  - JOUR\nTI  - Ris\nJO  - Neural Computation\nVL  - 9\nIS  - 8\nSP  - 1735\nEP  - 1780\nPB  - MIT Press\nAB  - {_abstract(4)}\nER  - \n\n"
        f"TY  - JOUR\nTI  - Ris range\nSP  - 10-20\nAB  - {_abstract(5)}\nER  - \n"
    )
    (tmp_path / "c.json").write_text(json.dumps([
        {"id": "x", "type": "article-journal", "title": "Csl", "container-title": "Nature", "volume": 521, "issue": "7553",
         "page": "436-444", "publisher": "Springer", "abstract": _abstract(6)},
        {"id": "https://openalex.org/W1", "display_name": "OpenAlex", "authorships": [], "publication_year": 2015,
         "abstract_inverted_index": {w: [i] for i, w in enumerate(_abstract(7).split())},
         "biblio": {"volume": "521", "issue": "7553", "first_page": "436", "last_page": "444"},
         "primary_location": {"source": {"display_name": "Nature", "host_organization_name": "Springer Nature"}}},
        {"paperId": "s2", "title": "S2", "abstract": _abstract(8), "journal": {"name": "Nature", "volume": "521", "pages": " 436 - 444 "}},
    ]))
    (tmp_path / "d.csv").write_text(
        '"Title","Abstract Note","Volume","Issue","Pages","Publisher"\n'
        f'"Csv","{_abstract(9)}","3","2","100-110","PMLR"\n'
    )
    (tmp_path / "e.csv").write_text(  # Scopus
        '"Title","Abstract","Volume","Issue","Page start","Page end"\n'
        f'"Scopus","{_abstract(10)}","12","","33","41"\n'
    )
    papers = {p.title: (p.volume, p.issue, p.pages, p.publisher) for p in load_corpus([tmp_path]).papers}
    assert papers == {
        "Bib": ("21", "140", "1–67", "Microtome & Co"),
        "BibLaTeX": (None, "4", "e1023", None),
        "Book": (None, None, "xii+300", None),  # a book's publisher is its venue
        "Ris": ("9", "8", "1735–1780", "MIT Press"),
        "Ris range": (None, None, "10–20", None),
        "Csl": ("521", "7553", "436–444", "Springer"),
        "OpenAlex": ("521", "7553", "436–444", "Springer Nature"),
        "S2": ("521", None, "436–444", None),
        "Csv": ("3", "2", "100–110", "PMLR"),
        "Scopus": ("12", None, "33–41", None),
    }


def test_what_is_not_a_volume_issue_page_or_publisher_is_not_kept(tmp_path: Path) -> None:
    """arXiv's id as DBLP's CoRR volume or Semantic Scholar's "ArXiv" journal, a repository's host as an
    OpenAlex publisher, JSON values that are no text, a range of one page."""
    (tmp_path / "a.bib").write_text(
        "@article{DBLP:journals/corr/KingmaB14, title = {Adam}, journal = {CoRR}, volume = {abs/1412.6980},\n"
        f"  eprint = {{1412.6980}}, pages = {{12--12}}, abstract = {{{_abstract(1)}}}}}\n"
    )
    (tmp_path / "b.json").write_text(json.dumps([
        {"paperId": "s2", "title": "S2", "abstract": _abstract(2), "journal": {"name": "ArXiv", "volume": "abs/1706.03762"}},
        {"id": "https://openalex.org/W2", "display_name": "OpenAlex", "authorships": [],
         "abstract_inverted_index": {w: [i] for i, w in enumerate(_abstract(3).split())},
         "biblio": {"volume": None, "first_page": "7", "last_page": [8]},
         "primary_location": {"source": {"display_name": "arXiv", "type": "repository",
                                         "host_organization_name": "Cornell University"}}},
        {"id": "x", "type": "article-journal", "title": "Csl", "volume": 9.0, "issue": True, "page": [1, 2],
         "publisher": {"name": "Springer"}, "abstract": _abstract(4)},
    ]))
    papers = {p.title: (p.volume, p.issue, p.pages, p.publisher) for p in load_corpus([tmp_path]).papers}
    assert papers == {
        "Adam": (None, None, "12", None),
        "S2": (None, None, None, None),
        "OpenAlex": (None, None, "7", None),
        "Csl": ("9", None, None, None),
    }


def test_pages_and_numbers_as_reference_managers_write_them(tmp_path: Path) -> None:
    """Mendeley's SP range with its last page again as EP, a book's SP (its number of pages, kept as BibTeX's
    pages of a @book are), "pp.", an open
    range, CSL's volume 0 and page-first, Scopus' article number, a report's number in Zotero's RIS (SN) and
    CSV ("Number")."""
    (tmp_path / "a.ris").write_text(
        f"TY  - JOUR\nTI  - Mendeley\nSP  - 45-67\nEP  - 67\nAB  - {_abstract(1)}\nER  - \n\n"
        f"TY  - BOOK\nTI  - Book\nPB  - Springer\nSP  - 738\nAB  - {_abstract(2)}\nER  - \n\n"
        f"TY  - RPRT\nTI  - Report\nPB  - University of Toronto\nSN  - UTML TR 2010-003\nAB  - {_abstract(3)}\nER  - \n\n"
        f"TY  - RPRT\nTI  - EndNote report\nSN  - 978-3-16-148410-0\nAB  - {_abstract(11)}\nER  - \n"  # an ISBN
    )
    (tmp_path / "b.bib").write_text(
        f"@article{{p, title = {{Pp}}, pages = {{pp. 45-67}}, abstract = {{{_abstract(4)}}}}}\n"
        f"@article{{o, title = {{Open}}, pages = {{123--}}, abstract = {{{_abstract(5)}}}}}\n"
    )
    (tmp_path / "c.json").write_text(json.dumps([
        {"id": "z", "type": "article-journal", "title": "Zero", "issued": {"date-parts": [[2020]]}, "volume": 0,
         "page-first": "101", "abstract": _abstract(6)},
    ]))
    (tmp_path / "d.csv").write_text(
        '"Title","Abstract","Page start","Page end","Art. No.","Item Type","Number","Publisher"\n'
        f'"Scopus","{_abstract(7)}","","","12","journalArticle","",""\n'
        f'"Zotero report","{_abstract(8)}","","","","report","UTML TR 2010-003","University of Toronto"\n'
    )
    papers = {p.title: (p.volume, p.issue, p.pages) for p in load_corpus([tmp_path]).papers}
    assert papers == {
        "Mendeley": (None, None, "45–67"), "Book": (None, None, "738"), "Report": (None, "UTML TR 2010-003", None),
        "Pp": (None, None, "45–67"), "Open": (None, None, "123"), "Zero": ("0", None, "101"),
        "Scopus": (None, None, "12"), "Zotero report": (None, "UTML TR 2010-003", None), "EndNote report": (None, None, None),
    }


def test_a_bibtex_year_with_a_letter_keeps_its_year() -> None:
    """`year = {2021a}` (a second paper of one author and year, as BibTeX styles write it) was stored with no
    year, and so never matched `--year`."""
    from assistant.formats import year_of

    assert [year_of(v) for v in ("2021a", "2021b, revised", "2021", "May 2021")] == [2021, 2021, 2021, 2021]
    assert [year_of(v) for v in ("2021ab", "12021", "20215", "arXiv:2101.00001")] == [None, None, None, None]


def test_csv_authors_with_a_family_name_of_several_words_or_initials_stay_one_person() -> None:
    """Zotero's "van der Berg, Jan" became two authors, "van der Berg" and "Jan" (export then wrote
    `author = {van der Berg and Jan}`), and "Smith, J., Jones, K." four."""
    from assistant.corpus import parse_csv

    abstract = "An abstract long enough to be read as one, about a method, its analysis and experiments on data."

    def authors(cell: str) -> list[str]:
        drafts, issues = parse_csv(f'Title,Author,Abstract Note\nT,"{cell}","{abstract}"\n', "z.csv")
        assert not issues and len(drafts) == 1
        return drafts[0].authors

    assert authors("van der Berg, Jan") == ["Jan van der Berg"]
    assert authors("García Márquez, Gabriel") == ["Gabriel García Márquez"]
    assert authors("Smith, J. R.") == ["J. R. Smith"]
    assert authors("Smith, J., Jones, K., van der Berg, J.") == ["J. Smith", "K. Jones", "J. van der Berg"]
    assert authors("Geoffrey Hinton, Yann LeCun") == ["Geoffrey Hinton", "Yann LeCun"]  # two, as before


def test_a_ris_abstract_in_several_ab_lines_is_read_whole() -> None:
    """A record with two `AB  -` lines was stored with the first line only, and no warning."""
    from assistant.formats import parse_ris

    text = ("TY  - JOUR\nTI  - Two lines\nAU  - Rivera, Ana\nAB  - We study a method for reading abstracts whole.\n"
            "AB  - Its second line says what the experiments show, and must not be lost.\nER  - \n")
    ((_, record),) = list(parse_ris(text))
    assert isinstance(record, dict)
    assert record["abstract"] == ("We study a method for reading abstracts whole. Its second line says what the "
                                  "experiments show, and must not be lost.")
