"""Papers -> BibTeX, RIS or CSV that reference managers (and our own ingest) read back.

BibTeX through bibtexparser 2's writer and RIS through rispy: the same libraries that read them. Our
BibTeX starts with an `@comment` naming the exporter; on reading, such a file's fields are taken verbatim
(formats.parse_bibtex), since an abstract's own "$\\Sigma$", "--" or "<" must come back as it was: exported
and re-ingested, every paper is unchanged. Other tools read the file as ordinary BibTeX.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Literal

from .filters import fold
from .formats import BIBTEX_MARK, RIS_MORE_AUTHORS, tex_escape
from .types import Paper, named_authors

ExportFormat = Literal["bibtex", "ris", "csv"]
FORMATS: tuple[ExportFormat, ...] = ("bibtex", "ris", "csv")
# Zotero's column names, which formats.CSV_ALIASES reads back.
CSV_COLUMNS = ["Key", "Title", "Author", "Publication Year", "Abstract Note", "DOI", "Url", "Publication Title", "Manual Tags"]


def cite_key(paper: Paper, taken: set[str]) -> str:
    """author-year-word, e.g. jacot2018neural (the paper id when nothing better is known), unique in `taken`."""
    last = re.sub(r"[^a-z]", "", _ascii(paper.authors[0].split()[-1]).lower()) if paper.authors else ""
    words = [w for w in re.findall(r"[a-z]+", _ascii(paper.title).lower()) if len(w) > 3] if paper.has_title else []
    base = f"{last}{paper.year or ''}{words[0] if words else ''}" if (last or paper.year) else paper.id
    key, n = base, 1
    while key in taken:
        n += 1
        key = f"{base}{chr(ord('a') + n - 2)}" if n <= 27 else f"{base}{n}"
    taken.add(key)
    return key


def _ascii(text: str) -> str:
    """Müller -> muller, Łukasz -> lukasz: cite keys are plain ASCII (filters.fold spells the letters)."""
    return fold(text).encode("ascii", "ignore").decode()


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def to_bibtex(papers: Sequence[Paper]) -> str:
    from bibtexparser import Library, write_string
    from bibtexparser.model import Entry, ExplicitComment, Field

    library = Library([ExplicitComment(BIBTEX_MARK)])
    taken: set[str] = set()
    for paper in papers:
        names, more = named_authors(paper.authors)
        values = {
            "title": tex_escape(paper.title) if paper.has_title else "",  # typeset by LaTeX: & % # _ escaped
            "author": " and ".join([*names, "others"] if more else names),  # BibTeX's own "et al."
            "year": str(paper.year or ""),
            "journal": tex_escape(paper.venue or ""),
            "doi": paper.doi or "",
            "url": paper.url or "",
            "keywords": ", ".join(paper.categories),
            "abstract": paper.abstract,
        }
        fields = [
            # A value with unbalanced braces would end the entry early: BibTeX cannot hold it verbatim.
            Field(name, value if _balanced(value) else value.replace("{", "(").replace("}", ")"))  # the writer braces it
            for name, value in values.items()
            if value
        ]
        library.add(Entry("article", cite_key(paper, taken), fields))
    return str(write_string(library))


def to_ris(papers: Sequence[Paper]) -> str:
    import rispy
    from rispy.writer import RisWriter

    class _PlainRis(RisWriter):  # rispy numbers each record ("1."), which Zotero and EndNote do not expect
        def set_header(self, count: int) -> str:
            return ""

    entries = []
    for paper in papers:
        entry: dict[str, object] = {"type_of_reference": "JOUR", "abstract": paper.abstract}
        if paper.has_title:
            entry["title"] = paper.title
        names, more = named_authors(paper.authors)
        if names:
            entry["authors"] = names
        if more:  # no "et al." author: reference managers would make it a person
            entry["notes"] = [RIS_MORE_AUTHORS]
        if paper.year:
            entry["year"] = str(paper.year)
        if paper.doi:
            entry["doi"] = paper.doi
        if paper.url:
            entry["urls"] = [paper.url]
        if paper.venue:
            entry["journal_name"] = paper.venue
        if paper.categories:
            entry["keywords"] = list(paper.categories)
        entries.append(entry)
    return str(rispy.dumps(entries, implementation=_PlainRis))


def to_csv(papers: Sequence[Paper]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    taken: set[str] = set()
    for p in papers:
        writer.writerow([
            cite_key(p, taken), p.title if p.has_title else "", "; ".join(p.authors), p.year or "", p.abstract,
            p.doi or "", p.url or "", p.venue or "", "; ".join(p.categories),
        ])
    return out.getvalue()


def export(papers: Sequence[Paper], fmt: ExportFormat) -> str:
    return {"bibtex": to_bibtex, "ris": to_ris, "csv": to_csv}[fmt](papers)
