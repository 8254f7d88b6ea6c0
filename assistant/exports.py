"""Papers -> BibTeX, RIS, CSV or CSL JSON that reference managers, pandoc (and our own ingest) read back.

BibTeX through bibtexparser 2's writer and RIS through rispy: the same libraries that read them. Our
BibTeX starts with an `@comment` naming the exporter; on reading, such a file's fields are taken verbatim
(formats.parse_bibtex), since an abstract's own "$\\Sigma$", "--" or "<" must come back as it was: exported
and re-ingested, every paper is unchanged. Other tools read the file as ordinary BibTeX.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from typing import Literal

from .filters import fold
from .formats import (
    BIBTEX_MARK,
    BRACES,
    MORE_AUTHORS_NOTE,
    SHEET_FORMULA,
    balanced,
    is_arxiv_category,
    is_arxiv_id,
    split_name,
    tex_escape,
)
from .types import PUBLISHED_BY, Paper, WorkType, named_authors

ExportFormat = Literal["bibtex", "ris", "csv", "csl"]
FORMATS: tuple[ExportFormat, ...] = ("bibtex", "ris", "csv", "csl")
# key_group -> the ids of every paper of the store in it, sorted (cite_keys)
KeyGroups = Mapping[tuple[str, "int | None", str], Sequence[str]]
# Zotero's column names, which formats.CSV_ALIASES reads back.
CSV_COLUMNS = [
    "Key", "Item Type", "Title", "Author", "Publication Year", "Abstract Note", "DOI", "Url", "Publication Title", "Manual Tags",
    "Volume", "Issue", "Number", "Pages", "Publisher", "Notes", "Date", "Type",
]


def derived_key(paper: Paper) -> str:
    """author-year-word, e.g. jacot2018neural (the paper id when nothing better is known)."""
    first = paper.authors[0] if paper.authors else ""
    last = re.sub(r"[^a-z]", "", _ascii(paper.families.get(first) or first.split()[-1]).lower()) if first else ""
    words = [w for w in re.findall(r"[a-z]+", _ascii(paper.title).lower()) if len(w) > 3] if paper.has_title else []
    return f"{last}{paper.year or ''}{words[0] if words else ''}" if (last or paper.year) else paper.id


def _suffixed(base: str, n: int) -> str:
    """The n-th key of a base (n from 1): the base, then base + "a", "b", …, then base + number."""
    return base if n <= 1 else f"{base}{chr(ord('a') + n - 2)}" if n <= 27 else f"{base}{n}"


def cite_key(paper: Paper, taken: set[str], place: int = 1) -> str:
    """The key the paper's .bib or CSL JSON gave it, so a manuscript's \\cite{…} still finds it, else
    `derived_key` (as the `place`-th paper deriving it: "maaten2019visualizinga" for the second); unique in `taken`."""
    base = paper.key or derived_key(paper)
    n = 1 if paper.key else place
    while (key := _suffixed(base, n)) in taken:
        n += 1
    taken.add(key)
    return key


def key_group(authors: Sequence[str], year: int | None, title: str) -> tuple[str, int | None, str]:
    """What papers deriving the same cite key share, from what a Header holds: the first author's last word,
    the year and the title's (or an untitled record's label's) first word of four letters or more."""
    last = _ascii(authors[0].split()[-1]).lower() if authors and authors[0].split() else ""
    words = [w for w in re.findall(r"[a-z]+", _ascii(title).lower()) if len(w) > 3]
    return last, year, words[0] if words else ""


def cite_keys(papers: Sequence[Paper], groups: KeyGroups | None = None) -> list[str]:
    """Each paper's cite key (cite_key), the keys papers were given claimed first: a key derived for another
    paper that happens to equal one ("rivera2020deep") must not take it, or \\cite{rivera2020deep} cites it.
    `groups` (key_group -> the ids of every paper of the store in it, sorted): two papers deriving one key get
    their letters by their place there, so a paper's key is the same whichever papers are exported, in whatever
    order (`ask --bibtex` gave "maaten2019visualizing" to the paper `export` called "maaten2019visualizinga")."""
    taken: set[str] = set()
    given = {i: cite_key(p, taken) for i, p in enumerate(papers) if p.key}

    def place(paper: Paper) -> int:
        if not groups or not (paper.authors or paper.year):
            return 1  # a key made of the paper id (derived_key) is its own
        ids = groups.get(key_group(paper.authors, paper.year, paper.title), ())
        return ids.index(paper.id) + 1 if paper.id in ids else 1

    return [given[i] if i in given else cite_key(p, taken, place(p)) for i, p in enumerate(papers)]


def _ascii(text: str) -> str:
    """Müller -> muller, Łukasz -> lukasz: cite keys are plain ASCII (filters.fold spells the letters)."""
    return fold(text).encode("ascii", "ignore").decode()


def _balance(text: str) -> str:
    """A value with unbalanced braces would end the entry early: BibTeX cannot hold it verbatim, so its braces
    are written as LaTeX's \\textbraceleft{} and \\textbraceright{} (formats.BRACES), which typeset as braces and
    which our own reader turns back (they had become parentheses: the paper read back was another paper)."""
    return text if balanced(text) else re.sub(r"[{}]", lambda m: BRACES[m[0]], text)


# A kind of work -> its BibTeX entry type and the field that names where it appeared. A paper no source gave a
# type is @misc ("howpublished"): calling it an @article would say what nobody said.
BIBTEX_TYPES: dict[WorkType | None, tuple[str, str]] = {
    "article": ("article", "journal"),
    "conference": ("inproceedings", "booktitle"),
    "preprint": ("misc", "howpublished"),
    "book": ("book", "publisher"),
    "chapter": ("incollection", "booktitle"),
    "thesis": ("phdthesis", "school"),
    "masters_thesis": ("mastersthesis", "school"),
    "report": ("techreport", "institution"),
    None: ("misc", "howpublished"),
}
# RIS's TY, and the tags (as rispy names them) for where the work appeared. A conference paper's proceedings go
# in C3 as Zotero writes them, and in T2, where the RIS spec puts the conference's name, for other readers.
RIS_TYPES: dict[WorkType | None, tuple[str, tuple[str, ...]]] = {
    "article": ("JOUR", ("journal_name",)),
    "conference": ("CPAPER", ("secondary_title", "custom3")),
    "preprint": ("UNPB", ("secondary_title",)),
    "book": ("BOOK", ("publisher",)),
    "chapter": ("CHAP", ("secondary_title",)),
    "thesis": ("THES", ("publisher",)),
    "masters_thesis": ("THES", ("publisher",)),  # and M3 (type of work) says master's
    "report": ("RPRT", ("publisher",)),
    None: ("GEN", ("journal_name",)),
}
MASTERS = "Master's thesis"  # a master's thesis's type where the format has one thesis type (RIS M3, CSL genre)
# Zotero's Item Type, which its CSV import and formats.work_type read.
ZOTERO_TYPES: dict[WorkType | None, str] = {
    "article": "journalArticle", "conference": "conferencePaper", "preprint": "preprint", "book": "book",
    "chapter": "bookSection", "thesis": "thesis", "masters_thesis": "thesis", "report": "report", None: "",
}
_ARXIV_ID = re.compile(r"arxiv\.org/(?:abs|pdf)/([^\s?#]+)|^10\.48550/arxiv\.(\S+)$", re.IGNORECASE)


def arxiv_id(paper: Paper) -> str | None:
    """The arXiv identifier in the paper's link or DOI (2101.00001v2, hep-th/9901001), if it has one: the link
    may end in ".pdf", "/", a query or a fragment."""
    for value in (paper.url or "", paper.doi or ""):
        if match := _ARXIV_ID.search(value):
            found = re.sub(r"(\.pdf)?/?$", "", match.group(1) or match.group(2))
            if is_arxiv_id(found):
                return found
    return None


def to_bibtex(papers: Sequence[Paper], abstracts: bool = True, groups: KeyGroups | None = None) -> str:
    """The papers as BibTeX entries; `abstracts=False`: references to cite, without the abstracts and without
    the mark that has our own reader take the fields verbatim (they are what a manuscript's .bib needs)."""
    from bibtexparser import Library, write_string
    from bibtexparser.model import Entry, ExplicitComment, Field

    library = Library([ExplicitComment(BIBTEX_MARK)] if abstracts else [])
    for paper, key in zip(papers, cite_keys(papers, groups)):
        names, more = named_authors(paper.authors)
        entry_type, venue_field = BIBTEX_TYPES[paper.work_type]
        eprint = arxiv_id(paper)
        values = {
            # typeset by LaTeX: & % # _ escaped, and the whole title in braces so a style that lower-cases
            # titles keeps "BERT" and "ImageNet" as the source wrote them
            "title": "{" + _balance(tex_escape(paper.title)) + "}" if paper.has_title else "",
            # BibTeX's own "et al."; "Carl Jung & Sons" with its & escaped, as in a title
            "author": " and ".join([*(tex_escape(_bibtex_name(n, paper.families.get(n))) for n in names), *(["others"] if more else [])]),
            "year": str(paper.year or ""),
            "month": _MONTH_MACROS[paper.month - 1] if paper.year and paper.month else "",
            venue_field: tex_escape(paper.venue or ""),
            "volume": tex_escape(paper.volume or ""),
            "number": tex_escape(paper.issue or ""),
            "pages": (paper.pages or "").replace("–", "--"),  # BibTeX's en dash
            # a book's publisher is its venue
            **({"publisher": tex_escape(paper.publisher or "")} if venue_field != "publisher" else {}),
            "doi": paper.doi or "",
            "url": paper.url or "",
            # arXiv's own BibTeX for a preprint; a preprint elsewhere says so in a note
            # as arXiv's own BibTeX writes it: the paper, not one version ("2403.04567", not "2403.04567v2")
            "eprint": re.sub(r"v\d+$", "", eprint) if eprint and paper.work_type == "preprint" else "",
            "archiveprefix": "arXiv" if eprint and paper.work_type == "preprint" else "",
            # arXiv's BibTeX names the primary category, which arXiv lists first (read back before the keywords)
            "primaryclass": paper.categories[0]
            if eprint and paper.work_type == "preprint" and paper.categories and is_arxiv_category(paper.categories[0]) else "",
            "note": "; ".join(filter(None, [
                "Preprint" if paper.work_type == "preprint" and not eprint else "",
                # a reference with no title would be an empty entry: say what it is, how it begins and its id
                "" if paper.has_title or abstracts else f"Untitled abstract beginning ``{tex_escape(paper.title)}'' (id {tex_escape(paper.id)})",
            ])),
            "keywords": ", ".join(paper.categories),
            "abstract": tex_escape(paper.abstract) if abstracts else "",  # "50% & more" would end at the % for a LaTeX tool
        }
        fields = [Field(name, _balance(value)) for name, value in values.items() if value]  # the writer braces it
        library.add(Entry(entry_type, key, fields))
    # a month as BibTeX's own macro (`month = may`), which every style prints in its language and biblatex reads
    # as 5; the writer braces every value, and `{may}` prints "may"
    return _BRACED_MONTH.sub(r"\1\2\3", str(write_string(library)))


_MONTH_MACROS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_BRACED_MONTH = re.compile(r"^(\s*month\s*=\s*)\{(" + "|".join(_MONTH_MACROS) + r")\}(,?)$", re.MULTILINE)


def to_ris(papers: Sequence[Paper], groups: KeyGroups | None = None) -> str:
    import rispy
    from rispy.writer import RisWriter

    class _PlainRis(RisWriter):  # rispy numbers each record ("1."), which Zotero and EndNote do not expect
        def set_header(self, count: int) -> str:
            return ""

    entries = []
    for paper, key in zip(papers, cite_keys(papers, groups)):
        kind, venue_tags = RIS_TYPES[paper.work_type]
        # ID: the reference's id, which reference managers keep; a key a .bib gave survives the round trip
        entry: dict[str, object] = {"type_of_reference": kind, "id": key, "abstract": paper.abstract}
        if paper.has_title:
            entry["title"] = paper.title
        names, more = named_authors(paper.authors)
        if names:
            entry["authors"] = [_last_first(n, paper.families.get(n)) for n in names]
        if more:  # no "et al." author: reference managers would make it a person
            entry["notes"] = [MORE_AUTHORS_NOTE]
        if paper.year:
            entry["year"] = str(paper.year)
            if paper.month:  # as Zotero writes a date: DA  - 2021/05//
                entry["date"] = f"{paper.year}/{paper.month:02d}//"
        if paper.doi:
            entry["doi"] = paper.doi
        if paper.url:
            entry["urls"] = [paper.url]
        for tag in venue_tags if paper.venue else ():
            entry[tag] = paper.venue
        entry.update(_ris_located(paper, venue_tags))
        if paper.work_type == "masters_thesis":
            entry["type_of_work"] = MASTERS  # M3, as Zotero writes a thesis's type
        if paper.categories:
            entry["keywords"] = list(paper.categories)
        entries.append(entry)
    return str(rispy.dumps(entries, implementation=_PlainRis))


def _ris_located(paper: Paper, venue_tags: tuple[str, ...]) -> dict[str, str]:
    """VL, IS (a report's number: SN), SP and EP (a range split at its dash), PB (unless the venue went there)."""
    first, _, last = (paper.pages or "").partition("–")
    # a report's number where Zotero's RIS keeps it (SN); IS would be an issue it has no field for
    tags = {"volume": paper.volume, "issn" if paper.work_type == "report" else "number": paper.issue, "start_page": first, "end_page": last}
    if "publisher" not in venue_tags:
        tags["publisher"] = paper.publisher
    return {tag: value for tag, value in tags.items() if value}


def sheet_safe(cell: object) -> object:
    """A cell no spreadsheet runs as a formula: text starting with "=", "+", "-", "@" or a tab gets a leading "'"
    (an added file's title or abstract is untrusted; formats.unsheeted reads it back)."""
    return "'" + cell if isinstance(cell, str) and cell.startswith(SHEET_FORMULA) else cell


def to_csv(papers: Sequence[Paper], groups: KeyGroups | None = None) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for p, key in zip(papers, cite_keys(papers, groups)):
        published, report = p.work_type in PUBLISHED_BY, p.work_type == "report"
        names, more = named_authors(p.authors)  # as in RIS: a list cut short says so in a note, not as a person
        writer.writerow(map(sheet_safe, [
            # Zotero's "Last, First; Last, First", which keeps a family name of several words whole
            key, ZOTERO_TYPES[p.work_type], p.title if p.has_title else "",
            "; ".join(_last_first(n, p.families.get(n)) for n in names), p.year or "", p.abstract,
            # as Zotero's own: a book's, thesis's or report's venue is its Publisher, a report's number its Number
            p.doi or "", p.url or "", "" if published else p.venue or "", "; ".join(p.categories),
            p.volume or "", "" if report else p.issue or "", p.issue or "" if report else "",
            (p.pages or "").replace("–", "-"), (p.venue if published else p.publisher) or "",  # Zotero's hyphen
            MORE_AUTHORS_NOTE if more else "",
            f"{p.year}-{p.month:02d}" if p.year and p.month else "",  # Zotero's Date, where the month is kept
            MASTERS if p.work_type == "masters_thesis" else "",  # Zotero's Type of a thesis (its Item Type: "thesis")
        ]))
    return out.getvalue()


# CSL's item types (formats._CSL_TYPES read them back); "document" is CSL's own "no more specific type".
CSL_TYPES: dict[WorkType | None, str] = {
    "article": "article-journal", "conference": "paper-conference", "preprint": "article", "book": "book",
    "chapter": "chapter", "thesis": "thesis", "masters_thesis": "thesis", "report": "report", None: "document",
}


def _csl_name(name: str, family: str | None = None) -> dict[str, str]:
    """CSL's parts of a name; a group's name (all of it a family name, or one word) as a literal."""
    given, particle, family, suffix = split_name(name, family)
    if not given:
        return {"literal": name}
    parts = {"given": given, "non-dropping-particle": particle, "family": family, "suffix": suffix}
    return {key: value for key, value in parts.items() if value}


def _bibtex_name(name: str, family: str | None = None) -> str:
    """BibTeX's "von Last, Jr, First" when there is a suffix ("John Smith Jr." would read as first name "John
    Smith", last name "Jr.") or a family name of several words ("García Márquez, Gabriel"); a group's name in
    braces, as one last name ("{The ATLAS Collaboration}"); otherwise the name as written, which BibTeX splits
    right ("Jan van der Berg")."""
    if re.search(r"\sand\s", name, re.IGNORECASE) and not family:  # BibTeX would read "Barnes and Noble" as two
        return "{" + name + "}"
    given, particle, family, suffix = split_name(name, family)
    if not given and " " in family:
        return "{" + family + "}"
    if not (suffix or (given and " " in family)):
        return name
    last = " ".join(p for p in (particle, family) if p)
    return f"{last}, {suffix}, {given}" if suffix else f"{last}, {given}"


def _last_first(name: str, family: str | None = None) -> str:
    """RIS's and Zotero CSV's "Last, First" (Zotero's and EndNote's importers split on the comma): "van der Berg,
    Jan", "King, Martin Luther, Jr."; a group's name without a comma (Zotero reads it as one field)."""
    given, particle, family, suffix = split_name(name, family)
    last = " ".join(p for p in (particle, family) if p)
    return ", ".join(p for p in (last, given, suffix) if p) if given else name


def to_csl(papers: Sequence[Paper], groups: KeyGroups | None = None) -> str:
    """CSL JSON, as Zotero exports it and pandoc's citeproc reads it: one item a paper, keyed by its cite key."""
    import json

    items = []
    for paper, key in zip(papers, cite_keys(papers, groups)):
        item: dict[str, object] = {"id": key, "type": CSL_TYPES[paper.work_type], "abstract": paper.abstract}
        if paper.has_title:
            item["title"] = paper.title
        names, more = named_authors(paper.authors)
        if names:  # "Jan van der Berg" -> given, particle, family
            item["author"] = [_csl_name(name, paper.families.get(name)) for name in names]
        if more:  # as in RIS: citeproc would print an author {"literal": "et al."} as a name
            item["note"] = MORE_AUTHORS_NOTE
        if paper.year:
            item["issued"] = {"date-parts": [[paper.year, paper.month] if paper.month else [paper.year]]}
        if paper.venue:
            item["publisher" if paper.work_type in PUBLISHED_BY else "container-title"] = paper.venue
        if paper.work_type == "masters_thesis":
            item["genre"] = MASTERS
        located = {
            "volume": paper.volume, "number" if paper.work_type == "report" else "issue": paper.issue,
            "page": (paper.pages or "").replace("–", "-"), "publisher": None if paper.work_type in PUBLISHED_BY else paper.publisher,
        }
        item.update({name: value for name, value in located.items() if value})
        if paper.doi:
            item["DOI"] = paper.doi
        if paper.url:
            item["URL"] = paper.url
        if (eprint := arxiv_id(paper)) and paper.work_type == "preprint":
            item["number"] = f"arXiv:{eprint}"
        if paper.categories:
            item["keyword"] = ", ".join(paper.categories)
        items.append(item)
    return json.dumps(items, ensure_ascii=False, indent=2) + "\n"


def export(papers: Sequence[Paper], fmt: ExportFormat, groups: KeyGroups | None = None) -> str:
    if fmt == "bibtex":
        return to_bibtex(papers, groups=groups)
    return {"ris": to_ris, "csv": to_csv, "csl": to_csl}[fmt](papers, groups)
