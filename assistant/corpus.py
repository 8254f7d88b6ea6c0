"""Abstract files -> Paper records: the scraped seed pages, JSONL, CSV (Zotero, Mendeley, Scopus column
names), BibTeX, RIS, arXiv, OpenAlex and Semantic Scholar exports (assistant/formats.py), de-duplicated.

Seed pages come in two shapes: paragraphs labelled `Abstract:` (with an optional `Authors:` line
before them), and a bare title line followed by its abstract paragraph. Page furniture (banners,
`Via`, dates) is dropped. The same abstract found twice is one paper with both sources.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import formats
from .controls import printable  # an abstract printed by the CLI must not drive the terminal
from .exports import derived_key
from .types import LOCATOR_FIELDS, PUBLISHED_BY, Paper, ParseIssue, WorkType

BIBTEX_SUFFIXES = (".bib", ".bibtex")  # both name BibTeX files (`assistant export -o refs.bibtex` writes one)
SUPPORTED = (".txt", ".jsonl", ".json", ".csv", ".tsv", *BIBTEX_SUFFIXES, ".ris", ".xml", ".atom")
FORMATS = (
    ".txt (abstract pages), .jsonl/.json (our records, arXiv metadata, OpenAlex works, Semantic Scholar papers, CSL JSON), "
    ".csv/.tsv (Zotero, Mendeley or any table with an abstract column), .bib/.bibtex (BibTeX), .ris, .xml/.atom (arXiv API)"
)
# Whole-document formats (BibTeX, RIS, Atom, a JSON array, pages) are parsed in memory, up to this size.
# JSON lines and CSV are read a line at a time, at any size (an arXiv snapshot is several GB).
MAX_FILE_BYTES = 10 * 1024 * 1024
STREAMED = ("jsonl", "csv")
_WHOLE = {"page": "abstract-page", "bib": "BibTeX", "ris": "RIS", "atom": "Atom XML", "json": "JSON-document"}
SNIFF_BYTES = 64 * 1024
MAX_ABSTRACT_CHARS = 20_000
MIN_ABSTRACT_CHARS = 80
LOCATOR_CHARS = 200  # a volume, issue, page range or publisher longer than this is not one

_LABEL = re.compile(r"^(abstract|authors?|title)\s*:\s*", re.IGNORECASE)
_MONTH_DATE = re.compile(
    r"^(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(,?\s+\d{4})?$", re.IGNORECASE
)
_NOISE_EXACT = {"via", "new", "subscribe", "figures and tables:", "figures and tables", "code", "paper", "pdf"}
_NOISE_PREFIXES = ("get our free extension", "free add-on", "get trending papers", "byak and the research")
_SENTENCE_END = re.compile(r"[.!?](\s|$)")


@dataclass
class CorpusResult:
    """Papers read from some files, and what could not be read."""

    papers: list[Paper]
    issues: list[ParseIssue] = field(default_factory=list)


@dataclass
class _Draft:
    abstract: str
    source: str
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    families: dict[str, str] = field(default_factory=dict)  # Paper.families
    url: str | None = None
    year: int | None = None
    month: int | None = None  # only with a year
    given_id: str | None = None
    doi: str | None = None
    venue: str | None = None
    categories: list[str] = field(default_factory=list)
    work_type: WorkType | None = None
    key: str | None = None
    key_may_be_ours: bool = False  # read from our own export (or CSL JSON, which does not say): maybe a derived key
    located: dict[str, str] = field(default_factory=dict)  # volume, issue, pages, publisher (types.LOCATOR_FIELDS)


def normalise(text: str) -> str:
    """Case- and whitespace-insensitive form used for de-duplication and quote matching."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def paper_id(abstract: str) -> str:
    """Stable id from the abstract's content: the same on every machine and run."""
    return hashlib.sha256(normalise(abstract).encode()).hexdigest()[:12]


def label_for(abstract: str, limit: int = 90) -> str:
    """A readable stand-in title for an abstract that came without one: its first sentence, cut."""
    first = re.split(r"(?<=[.!?])\s+", abstract.strip(), maxsplit=1)[0]
    if not first.rstrip("."):  # an abstract opening with a bare "." would get an empty label
        return abstract.strip()[:limit]
    if len(first) <= limit:
        return first.rstrip(".")
    cut = first[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _hidden(name: str) -> bool:
    return name.startswith((".", "__"))  # hidden files and folders, a package's marker and __pycache__


def folder_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """Every file under a folder and its subfolders (hidden ones aside), with its path relative to the
    folder: the name a paper's sources and the warnings give it ("sub/page.txt"; "page.txt" at the top)."""
    for root, dirs, files in os.walk(folder):  # symlinked folders are not followed: no loops
        dirs[:] = sorted(d for d in dirs if not _hidden(d))
        for name in sorted(files):
            path = Path(root) / name
            if path.is_file():
                yield path.relative_to(folder).as_posix(), path


def source_files(paths: Iterable[Path]) -> Iterator[tuple[str, Path]]:
    """(source name, file) for each file to read: given files as they are (by their name), folders
    expanded to the supported files under them."""
    for path in paths:
        if path.is_dir():
            yield from ((name, p) for name, p in folder_files(path) if p.suffix.lower() in SUPPORTED)
        else:
            yield path.name, path


def load_corpus(paths: Iterable[Path]) -> CorpusResult:
    """Read every file, report what was unreadable, and merge duplicates into single papers. A file named
    in `paths` of which nothing could be used is also reported `refused` (the CLI exits 4 after ingesting
    the rest); inside a folder that is a warning, and so is a file of a type we do not read."""
    drafts: list[_Draft] = []
    issues: list[ParseIssue] = []
    for given in paths:
        if given.is_dir():
            for name, other in folder_files(given):
                if other.suffix.lower() not in SUPPORTED and not _hidden(other.name):
                    issues.append(ParseIssue(source=name, message=f"skipped: not a format we read ({FORMATS})"))
            if next(source_files([given]), None) is None:  # a warning: emptying a folder is how its papers are removed
                issues.append(ParseIssue(source=str(given), message=f"this folder holds no file we read ({FORMATS})", kept=True))
        for name, path in source_files([given]):
            file_drafts, file_issues = read_file(path, name)
            drafts.extend(file_drafts)
            if path == given and not file_drafts and file_issues:  # named, and nothing in it could be used
                file_issues = [*file_issues, ParseIssue(source=path.name, message="nothing in this file could be ingested", refused=True)]
            issues.extend(file_issues)
    return CorpusResult(papers=merge(drafts, issues), issues=issues)


def read_file(path: Path, name: str | None = None) -> tuple[list[_Draft], list[ParseIssue]]:
    """Parse one file by its extension, checked against its content; never raises for bad content. `name` is
    what its papers' sources and its warnings call it (default: the file's name)."""
    name = name or path.name
    if not path.exists():
        return [], [ParseIssue(source=str(path), message="file not found")]
    if path.suffix.lower() not in SUPPORTED:
        return [], [ParseIssue(source=name, message=f"unsupported file type; the formats we read: {FORMATS}")]
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
    if b"\x00" in head[:8192]:
        return [], [ParseIssue(source=name, message="binary file (contains NUL bytes); expected UTF-8 text")]
    if not head.strip():
        return [], [ParseIssue(source=name, message="file is empty")]
    kind = sniff(path.suffix.lower(), head.decode("utf-8", errors="replace"))
    if kind in STREAMED:
        issues: list[ParseIssue] = []
        lines = read_lines(path, issues, name)
        drafts, more = parse_jsonl(lines, name) if kind == "jsonl" else parse_csv(lines, name)
        issues.extend(more)
    else:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return [], [ParseIssue(
                source=name,
                message=f"file is {size / 2**20:.1f} MB, over the {MAX_FILE_BYTES // 2**20} MB limit for {_WHOLE[kind]} files, "
                "which are read whole; split it, or export JSON lines or CSV, which are read at any size",
            )]
        text, issue = decode(path.read_bytes(), name)
        if text is None:
            return [], [issue] if issue else []
        issues = [issue] if issue else []
        if kind == "json":
            drafts, more = parse_json(text, name)
        elif kind in ("bib", "ris", "atom"):
            drafts, more = parse_export(kind, text, name)
        else:
            drafts, more = parse_page(text, name)
        issues.extend(more)
    if not drafts and not more:
        layout = (  # a page or text file: say what is read as an abstract there
            "; in a text or HTML file an abstract is a paragraph of two sentences or more (150+ characters) or 400+ "
            "characters, after its title line, or a line labelled \"Abstract:\""
            if kind == "page" else ""
        )
        issues.append(ParseIssue(source=name, message=f"no abstracts found{layout}"))
    return drafts, issues


def read_lines(path: Path, issues: list[ParseIssue], name: str | None = None) -> Iterator[str]:
    """The file's lines, decoded one at a time (so memory holds a line, not the file): UTF-8 without its
    BOM; a line that is not UTF-8 is read as Windows-1252, with one warning for the file."""
    warned = False
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if number == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                line = raw.decode("cp1252", errors="replace")
                if not warned:
                    warned = True
                    issues.append(ParseIssue(
                        source=name or path.name, line=number,
                        message=f"not valid UTF-8 (byte {exc.start} of the line); read as Windows-1252 — re-save the file as UTF-8",
                        kept=True,  # the line is read all the same: a remark, not a skipped line
                    ))
            yield printable(line)


def sniff(suffix: str, text: str) -> str:
    """The format of a file: its extension, checked against its first characters (a .txt export of
    BibTeX or RIS, JSON lines saved as .json, a feed saved as .xml)."""
    head = text.lstrip()[:2000]
    if suffix in BIBTEX_SUFFIXES or (suffix == ".txt" and re.match(r"@\w+\s*[{(]", head)):
        return "bib"
    if suffix == ".ris" or (suffix == ".txt" and re.match(r"TY\s{2}- ", head)):
        return "ris"
    if suffix in (".xml", ".atom"):
        return "atom"
    if suffix in (".json", ".jsonl"):
        first = head.split("\n", 1)[0].strip()
        if suffix == ".json" and not (first.startswith("{") and first.endswith("}") and "\n" in head.strip()):
            return "json"
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    return "page"


def _records_to_drafts(items: Iterable[tuple[int | None, dict[str, Any] | str]], source: str) -> tuple[list[_Draft], list[ParseIssue]]:
    drafts: list[_Draft] = []
    issues: list[ParseIssue] = []
    for line, item in items:
        draft = item if isinstance(item, str) else _draft_from_record(item, source)
        if isinstance(draft, str):
            issues.append(ParseIssue(source=source, line=line, message=draft))
            continue
        drafts.append(draft)
        if not isinstance(item, str) and item.get("duplicate_key"):  # a BibTeX key used twice: both are kept
            message = f"duplicate key {item['key']!r}: this entry is kept as {paper_id(draft.abstract)}"
            issues.append(ParseIssue(source=source, line=line, message=message, kept=True))
        if not isinstance(item, str) and item.get("_remark"):  # read all the same, with a word on how
            issues.append(ParseIssue(source=source, line=line, message=str(item["_remark"]), kept=True))
    return drafts, issues


def parse_export(kind: str, text: str, source: str) -> tuple[list[_Draft], list[ParseIssue]]:
    """BibTeX, RIS or arXiv Atom (assistant/formats.py)."""
    parser = {"bib": formats.parse_bibtex, "ris": formats.parse_ris, "atom": formats.parse_atom}[kind]
    return _records_to_drafts(parser(text), source)


def parse_json(text: str, source: str) -> tuple[list[_Draft], list[ParseIssue]]:
    """A JSON document: a list of records, OpenAlex's {"results": [...]}, S2's {"data": [...]}, or one record."""
    try:
        records = formats.json_records(json.loads(text))
    except json.JSONDecodeError as exc:
        return [], [ParseIssue(source=source, line=exc.lineno, message=f"not valid JSON ({exc.msg})")]
    if records is None:
        return [], [ParseIssue(source=source, message="expected a JSON object or a list of objects")]
    drafts: list[_Draft] = []
    issues: list[ParseIssue] = []
    for number, record in enumerate(records, start=1):
        draft = _draft_from_record(record, source)
        if isinstance(draft, str):  # a document's records have no lines of their own (a page is often one line)
            ident = record.get("id") or record.get("paperId") or record.get("doi")
            where = f"record {number}" + (f" ({ident})" if isinstance(ident, str | int) and ident else "")
            issues.append(ParseIssue(source=source, message=f"{where}: {draft}"))
        else:
            drafts.append(draft)
    return drafts, issues


def decode(data: bytes, name: str) -> tuple[str | None, ParseIssue | None]:
    """UTF-8 text, or a readable fallback with a warning; binary files are refused."""
    if b"\x00" in data[:8192]:
        return None, ParseIssue(source=name, message="binary file (contains NUL bytes); expected UTF-8 text")
    try:
        return printable(data.decode("utf-8-sig")), None
    except UnicodeDecodeError as exc:
        warning = ParseIssue(
            source=name,
            message=f"not valid UTF-8 (byte {exc.start}); read as Windows-1252 — re-save the file as UTF-8",
            kept=True,
        )
        return printable(data.decode("cp1252", errors="replace")), warning


def _is_noise(line: str) -> bool:
    low = line.lower().strip()
    if low in _NOISE_EXACT or low.startswith(_NOISE_PREFIXES) or _MONTH_DATE.match(low):
        return True
    # A bare label such as "Figures and Tables:" carries no content of its own.
    return low.endswith(":") and len(low) < 40


def _looks_like_abstract(line: str) -> bool:
    # Titles are one short clause; abstracts run to several sentences.
    return len(line) >= 400 or (len(line) >= 150 and len(_SENTENCE_END.findall(line)) >= 2)


def _blocks(text: str) -> list[str]:
    """Non-empty lines; an unlabelled line right under an abstract line continues that abstract."""
    blocks: list[str] = []
    previous_blank = True
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            previous_blank = True
            continue
        continues = (
            not previous_blank
            and blocks
            and blocks[-1].lower().startswith("abstract:")
            and not _LABEL.match(line)
            and not _is_noise(line)
        )
        if continues:
            blocks[-1] = f"{blocks[-1]} {line}"
        else:
            blocks.append(line)
        previous_blank = False
    return blocks


def parse_page(text: str, source: str) -> tuple[list[_Draft], list[ParseIssue]]:
    """A scraped listing page: labelled or title-then-paragraph abstracts among page noise."""
    drafts: list[_Draft] = []
    issues: list[ParseIssue] = []
    title: str | None = None
    authors: list[str] = []
    families: dict[str, str] = {}
    for block in _blocks(text):
        label = _LABEL.match(block)
        kind = label.group(1).lower() if label else None
        body = block[label.end():].strip() if label else block
        if kind in ("author", "authors"):
            authors, families = split_authors(body)
        elif kind == "title":
            title = body or None
        elif kind == "abstract" or (kind is None and _looks_like_abstract(block)):
            if len(body) < MIN_ABSTRACT_CHARS:
                issues.append(ParseIssue(source=source, message=f"abstract too short to use: {body[:60]!r}"))
            else:
                drafts.append(_Draft(
                    abstract=body[:MAX_ABSTRACT_CHARS], source=source, title=title, authors=authors,
                    families=formats.unguessed_families(authors, families),
                ))
            title, authors, families = None, [], {}
        elif not _is_noise(block) and len(block) <= 300:
            title = block  # a short line is a title only if an abstract follows it
    return drafts, issues


def _listed_person(item: object) -> tuple[str, str]:
    """One author of a JSON list, and its family name if known: "Ashish Vaswani"; "Vaswani, Ashish", one name turned
    around (it was kept as written, so "Ashish Vaswani" found no paper and exports swapped its parts); or an object
    as CSL JSON and others write one ({"family": …, "given": …}, {"name": …}, {"literal": …}), which had been
    stored as Python's text of it."""
    if isinstance(item, dict):
        family, given = (printable(str(item.get(k) or "")).strip() for k in ("family", "given"))
        if family:
            return f"{given} {family}".strip(), family
        item = item.get("name") or item.get("literal") or item.get("display_name") or ""
    name = printable(str(item)).strip()
    return formats.person(name) if name else ("", "")


def split_authors(value: object) -> formats.People:
    """Authors from a list, or a string separated by "and", semicolons or commas (formats.split_people), with
    the family names its "Last, First" forms give."""
    if isinstance(value, list):  # names from JSON lists: no terminal escapes either
        people = [person for person in map(_listed_person, value) if person[0]]
        return [name for name, _ in people], {name: family for name, family in people if family}
    if not isinstance(value, str):
        return [], {}
    return formats.split_people(value)


def _draft_from_record(record: dict[str, object], source: str) -> _Draft | str:
    """A draft, or the reason the record is unusable."""
    record = formats.from_json(record)  # arXiv, OpenAlex and Semantic Scholar records in our field names
    keys = {str(k).strip().lower(): printable(v) if isinstance(v, str) else v for k, v in record.items()}  # JSON can escape controls
    abstract = str(keys.get("abstract") or "").strip()
    if not abstract:  # why, when the source's shape says (OpenAlex and Semantic Scholar often have none)
        return str(keys.get("no_abstract") or "missing 'abstract'")
    if len(abstract) < MIN_ABSTRACT_CHARS:
        return f"abstract shorter than {MIN_ABSTRACT_CHARS} characters"
    year = formats.year_of(keys.get("year"))
    title = str(keys.get("title") or "").strip() or None
    given = str(keys.get("id") or "").strip() or None
    if keys.get("arxiv_id") and given == keys.get("arxiv_id"):
        given = None  # an arXiv id names the work, not this abstract: the content id keeps dedup exact
    categories = keys.get("categories") or []
    # the parsers' work_type, or a JSON file's own "type" / "entrytype" in any of the sources' spellings
    kind = formats.work_type(keys.get("work_type") or keys.get("type") or keys.get("entrytype"))
    authors, families = split_authors(keys.get("authors"))
    given_families = keys.get("author_families")  # the parsers' (formats), over what split_authors found
    families.update(given_families if isinstance(given_families, dict) else {})
    return _Draft(
        abstract=" ".join(abstract.split())[:MAX_ABSTRACT_CHARS],
        source=source,
        title=" ".join(title.split()) if title else None,
        authors=authors,
        families=formats.unguessed_families(authors, families),
        url=formats.link({k: str(v).strip() for k, v in keys.items() if k in ("url", "doi", "arxiv_id") and v}),
        year=year,
        month=(formats.month_of(keys.get("month")) or formats.month_of(keys.get("date"))) if year else None,
        given_id=given,
        doi=formats.bare_doi(keys.get("doi")),
        # a thesis's, report's or book's publisher (Zotero's school, institution) is where it appeared
        venue=" ".join(str(keys.get("venue") or (keys.get("publisher") if kind in PUBLISHED_BY else "") or "").split())
        or None,
        work_type=kind,
        key=formats.citation_key(keys.get("citation_key")),
        key_may_be_ours=bool(keys.get("key_may_be_ours")),
        # a report's number: Zotero's CSV keeps it as "Number"
        located=_located({**keys, "issue": keys.get("number")} if kind == "report" and not keys.get("issue") else keys),
        categories=list(dict.fromkeys(  # "Computer Science - Machine Learning" as arXiv's "cs.LG"
            formats.arxiv_code(str(c)) for c in (categories if isinstance(categories, list) else str(categories).split())
        ))[:8],
    )


def _located(keys: dict[str, object]) -> dict[str, str]:
    """The record's volume, issue, pages and publisher that read as such (text or a whole number, not over
    LOCATOR_CHARS)."""
    values = {name: formats.scalar_text(keys.get(name)) for name in LOCATOR_FIELDS}
    values["pages"] = formats.page_range(values["pages"]) or ""
    return {name: value for name, value in values.items() if value and len(value) <= LOCATOR_CHARS}


def jsonl_objects(lines: str | Iterable[str], source: str, issues: list[ParseIssue]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each JSONL line (of a text, or streamed); a line that is not a JSON
    object becomes an issue."""
    for number, line in enumerate(lines.splitlines() if isinstance(lines, str) else lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            issues.append(ParseIssue(source=source, line=number, message=f"not valid JSON ({exc.msg})"))
            continue
        if not isinstance(record, dict):
            issues.append(ParseIssue(source=source, line=number, message="expected a JSON object"))
            continue
        yield number, record


def parse_jsonl(lines: str | Iterable[str], source: str) -> tuple[list[_Draft], list[ParseIssue]]:
    """One JSON object per line: our records, arXiv snapshot lines, OpenAlex or S2 records."""
    drafts: list[_Draft] = []
    issues: list[ParseIssue] = []
    for number, record in jsonl_objects(lines, source, issues):
        draft = _draft_from_record(record, source)
        if isinstance(draft, str):
            issues.append(ParseIssue(source=source, line=number, message=draft))
        else:
            drafts.append(draft)
    return drafts, issues


def parse_csv(lines: str | Iterable[str], source: str) -> tuple[list[_Draft], list[ParseIssue]]:
    """A table with a header row naming an abstract column (Zotero's "Abstract Note", Scopus' "Abstract",
    ...: formats.CSV_ALIASES, case-insensitive); comma, semicolon, tab or bar separated (sniffed)."""
    rows = iter(io.StringIO(lines) if isinstance(lines, str) else lines)
    first = next(rows, "")
    try:  # only the separator is sniffed (from the header): quoting is CSV's own, "" inside quotes
        delimiter = csv.Sniffer().sniff(first, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    try:
        reader = csv.DictReader(itertools.chain([first], rows), delimiter=delimiter)
        header = [c.strip() for c in reader.fieldnames or []]
    except csv.Error as exc:
        return [], [ParseIssue(source=source, message=f"unreadable CSV ({exc})")]
    chosen = formats.csv_columns(header)
    if "abstract" not in chosen:
        shown = ", ".join(c.lower() for c in header) or "none"
        accepted = ", ".join(f"'{a}'" for a in formats.CSV_ALIASES["abstract"])
        return [], [ParseIssue(source=source, message=f"CSV has no 'abstract' column (columns: {shown}); accepted names: {accepted}")]
    drafts: list[_Draft] = []
    issues: list[ParseIssue] = []
    for number, row in _csv_rows(reader, source, issues):
        mapped: dict[str, object] = {
            field: next((formats.unsheeted(row[c]) for c in columns if (row.get(c) or "").strip()), None)
            for field, columns in chosen.items()
        }
        if "citation_key" in mapped:  # our export's keys, derived ones among them (merge drops those)
            mapped["citation_key"], mapped["key_may_be_ours"] = formats.csv_key(mapped["citation_key"]), True
        if "start_page" in mapped or "end_page" in mapped:  # Scopus' pages, else its article number
            mapped["pages"] = formats.ris_pages(mapped) or mapped.get("pages")
        described = mapped.pop("type_of_work", None)
        if (kind := formats.work_type(mapped.get("work_type"))) == "thesis":  # Zotero's Type says which degree
            mapped["work_type"] = formats.with_degree(kind, described)
        note = mapped.pop("note", None)
        if note and (arxiv := formats.arxiv_in_text(note)):  # Zotero's "Extra"
            mapped.setdefault("arxiv_id", arxiv)
        if isinstance(mapped.get("authors"), str):  # a list cut short ends where our export's Notes say so
            names, families = formats.split_people(printable(str(mapped["authors"])))
            mapped["authors"], mapped["author_families"] = formats.noted_more(names, note), families
        if isinstance(tags := mapped.get("categories"), str):  # Zotero's tags: "cs.LG; cs.IR"
            mapped["categories"] = [t.strip() for t in re.split(r"[;,]", tags) if t.strip()]
        draft = _draft_from_record({k: v for k, v in mapped.items() if v is not None}, source)
        if isinstance(draft, str):
            issues.append(ParseIssue(source=source, line=number, message=draft))
        else:
            drafts.append(draft)
    return drafts, issues


CSV_ROW_ERRORS = 20  # unreadable rows after which a CSV is read no further: its quoting is broken, not one row


def _csv_rows(reader: csv.DictReader[str], source: str, issues: list[ParseIssue]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each readable row; an unreadable one (a field over the csv module's limit of
    131,072 characters) is reported by its line and the rows after it are still read: one such row dropped
    every row after it."""
    errors = read = 0
    while True:
        line = max(reader.line_num, read) + 1  # the reader does not count a line it failed on
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            errors += 1
            if errors > CSV_ROW_ERRORS:
                issues.append(ParseIssue(source=source, line=line, message=f"CSV stopped being readable ({exc})"))
                return
            issues.append(ParseIssue(source=source, line=line, message=f"row skipped: unreadable CSV ({exc})"))
            read = line
            continue
        yield line, row


def _published_first(copy: Paper | _Draft) -> tuple[bool, bool, bool]:
    """How a copy of a paper ranks as its version of record: typed before untyped, published before a preprint,
    one with a venue before one without (merge and combined take where, when and as what it appeared from it)."""
    return (copy.work_type is None, copy.work_type == "preprint", not copy.venue)


def combined(incoming: Paper, held: Paper) -> Paper:
    """One paper read from a file now, and its record from another file ingested before (an arXiv metadata file,
    then a .bib of the same paper): as merge() combines two copies read together, the published version's year,
    venue, DOI, kind and authors over the preprint's, and what one lacks from the other (a link, categories, a key).
    Each ingest replaced the record with the last file's: the .bib took the arXiv link and categories away, and
    the arXiv file the venue and key back. `held` is what both said before, so a value one file gives is
    corrected there; one a file drops stays while the record holds it."""
    published, other = (incoming, held) if _published_first(incoming) <= _published_first(held) else (held, incoming)
    same = other.work_type in (None, published.work_type)  # the same version: it fills what the published lacks
    placed = {
        name: getattr(published, name) or (getattr(other, name) if same else None)
        for name in ("year", "doi", "venue", *LOCATOR_FIELDS)
    }
    dated = published if published.year else (other if same and other.year else None)
    return incoming.model_copy(update={
        **placed,
        "month": dated.month if dated else None,
        "work_type": published.work_type,
        "title": published.title if published.has_title or not other.has_title else other.title,  # not one per file
        "has_title": incoming.has_title or held.has_title,
        "authors": published.authors or other.authors,
        "families": published.families if published.authors else other.families,
        "url": incoming.url or held.url,
        "categories": incoming.categories or held.categories,
        "key": incoming.key or held.key,
    })


def merge(drafts: list[_Draft], issues: list[ParseIssue] | None = None) -> list[Paper]:
    """One paper per distinct abstract, in order of first appearance, keeping every source."""
    groups: dict[str, list[_Draft]] = {}
    for draft in drafts:
        groups.setdefault(normalise(draft.abstract), []).append(draft)
    papers: list[Paper] = []
    used: set[str] = set()
    for copies in groups.values():
        first = copies[0]
        # Where, when and as what it appeared, from one copy: the published version (a .bib's @inproceedings)
        # over the preprint (arXiv's record) over an untyped one, so a year or DOI never belongs to another version
        # than the venue (ICLR 2015 with arXiv's 2014 and its DOI); copies of the same kind, or of none, fill what
        # it lacks; a link may come from any (the preprint's is still the paper).
        published = min(copies, key=_published_first)
        same = [published, *(c for c in copies if c is not published and c.work_type in (None, published.work_type))]
        others = [published, *(c for c in copies if c is not published)]
        title = published.title or next((c.title for c in copies if c.title), None)  # as the published version has it
        given = next((c.given_id for c in copies if c.given_id), None)
        pid = given if given and given not in used else paper_id(first.abstract)
        if given and pid != given and issues is not None:  # two abstracts under one id: keep both
            issues.append(ParseIssue(source=first.source, message=f"id {given!r} is already used by another abstract; this one is stored as {pid}", kept=True))
        used.add(pid)
        authored = published if published.authors else next((c for c in copies if c.authors), published)
        paper = Paper(
            id=pid,
            title=title or label_for(first.abstract),
            has_title=title is not None,
            abstract=first.abstract,
            authors=authored.authors,  # as the published version has them
            families=authored.families,
            sources=list(dict.fromkeys(c.source for c in copies)),
            url=next((c.url for c in others if c.url), None),
            year=(dated := next((c for c in same if c.year), None)) and dated.year,
            month=dated and dated.month,
            doi=next((c.doi for c in same if c.doi), None),
            venue=next((c.venue for c in same if c.venue), None),
            categories=next((c.categories for c in copies if c.categories), []),
            work_type=published.work_type,
            # from the copies of the published version, as its year and DOI; a thesis's, report's or book's
            # publisher is its venue
            **{name: next((c.located[name] for c in same if name in c.located), None) for name in LOCATOR_FIELDS
               if not (name == "publisher" and published.work_type in PUBLISHED_BY)},
        )
        # a key the user's .bib gave wins over one a RIS ID, CSV or CSL JSON carries, whatever order the files come in
        keyed = next((c for c in copies if c.key and not c.key_may_be_ours), None) or next((c for c in copies if c.key), None)
        # A key read from our own export (or CSL JSON) that the export would make anyway is not kept, so the
        # export read back changes nothing; a user's .bib keeps every key (another paper may derive the same one)
        # ... with the letter or number cite_keys adds when two papers derive the same one ("muller2021kernelsa")
        made = keyed is not None and keyed.key_may_be_ours and bool(
            re.fullmatch(re.escape(derived_key(paper)) + r"(?:[a-z]|\d+)?", keyed.key or "")
        )
        papers.append(paper.model_copy(update={"key": keyed.key}) if keyed and not made else paper)
    return papers
