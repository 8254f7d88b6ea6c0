"""Reference-manager and bulk-export formats -> plain records: BibTeX, RIS, arXiv (metadata JSON lines and
API Atom), OpenAlex works, Semantic Scholar papers, CSL JSON items, and Zotero/Mendeley CSV column names.

Each parser returns `(line or key, record)` pairs whose record uses the loader's field names (`title`,
`abstract`, `authors` as a list, `year`, `url`, `doi`, `venue`, `categories`) or a string saying why an
entry is unusable; assistant/corpus.py turns them into papers and reports the rest by file and line.
Parsers from well-kept libraries where one exists: bibtexparser 2 (the maintained BibTeX parser: LaTeX
accents, text macros and braces decoded outside math by its middleware, math kept as written, `and`-separated
authors split) and rispy (RIS tags mapped to names); arXiv's Atom is read with the standard library's ElementTree, the JSON shapes by hand (each is a
documented schema, a few keys).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .latex import without_citations
from .types import MORE_AUTHORS, PUBLISHED_BY, WorkType

Record = dict[str, Any]
Parsed = Iterator[tuple[int | None, Record | str]]  # (line, record or the reason it is unusable)

ARXIV_ABS = "https://arxiv.org/abs/"
_NEW_ARXIV = re.compile(r"^\d{4}\.\d{4,5}(v\d+)?$")
_OLD_ARXIV = re.compile(r"^[a-z\-]+(\.[A-Z]{2})?/\d{7}(v\d+)?$")


def is_arxiv_id(text: str) -> bool:
    """2101.00001, 2101.00001v2 or hep-th/9901001v1."""
    return bool(_NEW_ARXIV.match(text) or _OLD_ARXIV.match(text))


def year_of(value: object) -> int | None:
    """The year a field gives: "2021", "2021-05-03", "May 2021", and "2021a" (BibTeX's second paper of a year)."""
    match = re.search(r"\b(1[89]\d\d|20\d\d)(?:[a-z]\b|\b)", str(value or ""))
    return int(match.group(1)) if match else None


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_NAME = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)(?:uary|ruary|ch|il|e|y|ust|t|tember|ober|ember)?\b\.?",
    re.IGNORECASE,
)
_DATED = re.compile(r"\b(?:1[89]|20)\d\d[-/](\d\d?)(?!\d)")  # 2021-05-03, RIS's 2021/05/03/, 2021-05


def month_of(value: object) -> int | None:
    """The month a field gives: BibTeX's `may`, "May", "5" or "05"; a date's ("2021-05-03", "2021/05//",
    "Mon, 12 Jun 2017 17:57:34 GMT", "May 2021"); None for a year alone or anything else."""
    text = _clean(value)
    if re.fullmatch(r"\d\d?", text):
        number = int(text)
    elif dated := _DATED.search(text):
        number = int(dated.group(1))
    elif named := _MONTH_NAME.search(text):
        number = _MONTHS.index(named.group(1).lower()) + 1
    else:
        return None
    return number if 1 <= number <= 12 else None


def unread_year(given: object) -> str | None:
    """A remark on a year field that names none ("n.d.", "forthcoming", "in press"), which is not kept."""
    text = _clean(given)
    return f"year {text!r} names no year: the paper is stored without one" if text and year_of(text) is None else None


def _clean(value: object) -> str:
    return " ".join(str(value or "").split())


def scalar_text(value: object) -> str:
    """A field's text when it is text or a whole number (CSL JSON writes a volume as 21); anything else (a list,
    an object, true) is not a volume, issue or page: ""."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split()) if isinstance(value, (str, int)) else ""  # volume 0 is a volume


def page_range(value: object) -> str | None:
    """Pages as a reference prints them: "45--67" (BibTeX), "pp. 45-67", "45 – 67" -> "45–67", "12--12" -> "12",
    "123--" (open) -> "123"; one page or an article number ("e1023") as written."""
    pages = re.sub(r"^p?p\.\s*", "", scalar_text(value), flags=re.IGNORECASE)  # the style prints "pp."
    pages = re.sub(r"(?<=\w)\s*(?:-+|[–—])\s*(?=\w)", "–", pages).rstrip("-–— ")
    first, dash, last = pages.partition("–")
    return (first if dash and first == last else pages) or None


def ris_pages(entry: Record) -> str | None:
    """RIS's first (SP) and last (EP) page as one range; an SP that is a range already ("45-67") as it is
    (Mendeley and EndNote repeat its last page as EP)."""
    first, last = scalar_text(entry.get("start_page")), scalar_text(entry.get("end_page"))
    ranged = page_range(first) or ""
    return page_range(f"{first}-{last}" if first and last and "–" not in ranged else first or last)


def link(record: Record) -> str | None:
    """The record's URL, else one made from its DOI or arXiv id."""
    if record.get("url"):
        return str(record["url"])
    if record.get("doi"):
        return f"https://doi.org/{record['doi']}"
    if record.get("arxiv_id"):
        return ARXIV_ABS + str(record["arxiv_id"])
    return None


def bare_doi(value: object) -> str | None:
    text = _clean(value)
    text = re.sub(r"^(https?://(dx\.)?doi\.org/|doi:\s*)", "", text, flags=re.IGNORECASE)
    return text or None


# The names sources give a kind of work -> ours. BibTeX and BibLaTeX entry types, RIS TY codes, Zotero's Item
# Types (CSV), OpenAlex's and Crossref's types, Semantic Scholar's publicationTypes, Scopus's Document Type;
# compared lower-case without spaces, hyphens or underscores. Anything else (@misc, GEN) is no type: unknown.
_WORK_TYPES: dict[str, WorkType] = {
    **dict.fromkeys(["article", "journalarticle", "jour", "jfull", "ejour", "mgzn", "inpr", "review",
                     "magazinearticle"], "article"),
    **dict.fromkeys(["inproceedings", "conference", "conferencepaper", "conf", "cpaper", "proceedingsarticle",
                     "proceedingspaper"], "conference"),
    **dict.fromkeys(["preprint", "postedcontent", "unpb", "unpublished", "manuscript", "manscpt"], "preprint"),
    **dict.fromkeys(["book", "ebook", "monograph", "editedbook"], "book"),
    **dict.fromkeys(["incollection", "inbook", "bookchapter", "booksection", "chap", "echap", "chapter",
                     "bookpart"], "chapter"),
    **dict.fromkeys(["phdthesis", "thesis", "thes", "dissertation"], "thesis"),
    **dict.fromkeys(["mastersthesis", "masterthesis", "mathesis"], "masters_thesis"),
    **dict.fromkeys(["techreport", "report", "rprt"], "report"),
}


_MASTERS = re.compile(r"master|\bm\.?\s?sc\b|\bm\.?a\.?\b|mathesis", re.IGNORECASE)


def with_degree(kind: WorkType | None, description: object) -> WorkType | None:
    """A thesis whose own type says master's ("mathesis", "Master's thesis", "MSc thesis": BibLaTeX's type
    field, RIS's M3, CSL's genre) as a master's thesis; any other kind unchanged."""
    return "masters_thesis" if kind == "thesis" and _MASTERS.search(str(description or "")) else kind


def work_type(value: object) -> WorkType | None:
    """A source's name for a kind of work ("inproceedings", "CPAPER", "conferencePaper", "book-chapter") as ours."""
    return _WORK_TYPES.get(re.sub(r"[\s_-]", "", str(value or "")).lower())


# -- BibTeX ---------------------------------------------------------------------------------------
# The first line of a BibTeX file we export (exports.to_bibtex): its fields hold the text verbatim.
BIBTEX_MARK = "abstract-assistant export: fields are verbatim"


# Math spans, left alone by tex_escape: $$…$$, $…$, \(…\) and \[…\].
_MATH = re.compile(r"(\$\$.*?\$\$|\$[^$]*\$|\\\(.*?\\\)|\\\[.*?\\\])", re.DOTALL)


# What tex_escape writes for a brace of a value whose braces do not pair (exports: BibTeX could not hold it)
BRACES = {"{": "\\textbraceleft{}", "}": "\\textbraceright{}"}
_WRITTEN_BRACE = re.compile("|".join(re.escape(v) for v in BRACES.values()))


def tex_escape(text: str) -> str:
    """&, %, # and _ escaped outside math, so an exported title typesets (a bare & is a LaTeX error); a backslash
    already before one ("1\\%" in an arXiv abstract) or before what an escape writes, or ending the text (it would
    escape the brace closing the field), is written as one, so the text reads back as it was."""
    def escape(part: str) -> str:
        backslashes = re.sub(r"\\(?=[&%#_]|textbackslash\{\}|textbrace(?:left|right)\{\}|\Z)", r"\\textbackslash{}", part)
        return re.sub(r"([&%#_])", r"\\\1", backslashes)

    return "".join(p if i % 2 else escape(p) for i, p in enumerate(_MATH.split(text)))


def tex_unescape(text: str) -> str:
    """tex_escape undone, and a brace written as BRACES: our own export reads back as the text it was."""
    def unescape(part: str) -> str:
        return re.sub(r"\\([&%#_])", r"\1", part).replace("\\textbackslash{}", "\\")

    text = _WRITTEN_BRACE.sub(lambda m: "{" if m[0] == BRACES["{"] else "}", text)
    return "".join(p if i % 2 else unescape(p) for i, p in enumerate(_MATH.split(text)))


def balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def unwrap(text: str) -> str:
    """"{BERT Rocks}" -> "BERT Rocks": the one pair of braces our export puts around a title (exports.to_bibtex),
    only when they hold the whole value ("{BERT} and {GPT}" is left as it is)."""
    return text[1:-1] if text[:1] == "{" and _first_closes_last(text) else text


def _first_closes_last(text: str) -> bool:
    """Whether the brace the text opens with closes at its very end."""
    depth = 0
    for i, char in enumerate(text):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0:
            return i == len(text) - 1
    return False


@functools.cache
def _latex_decoder() -> Any:
    """bibtexparser's own decoder (accents, text macros and braces outside math; math kept verbatim), with a
    footnote read as a parenthesis: pylatexenc's "[…]" ran into the word before it ("preferable[See …]")."""
    from pylatexenc.latex2text import (
        LatexNodes2Text,
        MacroTextSpec,
        get_default_latex_context_db,
    )

    context = get_default_latex_context_db()
    context.add_context_category(
        "abstract-assistant",
        prepend=True,
        macros=[MacroTextSpec("url", simplify_repl="%s"), MacroTextSpec("footnote", simplify_repl=" (%(2)s)")],
    )

    class MathAsWritten(LatexNodes2Text):
        def math_node_to_text(self, node: Any) -> str:
            return str(node.latex_verbatim())  # display math too, which "verbatim" sets on lines of its own

    return MathAsWritten(latex_context=context, keep_braced_groups=False, math_mode="verbatim")


_LINK_FIELDS = ("url", "doi", "eprint")  # read as written, not decoded as LaTeX


# What a paper takes from the @proceedings or @book it crossrefs.
_CONTAINER_FIELDS = {"year", "date", "booktitle", "journal", "journaltitle", "publisher", "month", "series", "volume"}


_BIBTEX_PART = re.compile(r'\s*(\{(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*\}|"[^"]*"|[^\s#"{}]+)\s*(#|$)')
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _joined(value: str, macros: Mapping[str, str]) -> str | None:
    """A value BibTeX joins with "#" (`pre # "Neural Information Processing Systems"`), as one braced value,
    each macro (an @string, a month) put in; None when the value joins nothing. bibtexparser resolves a value
    that is one macro only, and kept the rest as written ("pre # …" was a paper's venue)."""
    parts: list[str] = []
    at = 0
    while at < len(value):
        part = _BIBTEX_PART.match(value, at)
        if part is None or part.end() == at:
            return None
        parts.append(part[1])
        at = part.end()
    if len(parts) < 2:
        return None
    text = []
    for piece in parts:
        macro = macros.get(piece.lower())
        if piece[:1] in "{\"":
            text.append(piece[1:-1])
        elif macro is not None:
            text.append(macro[1:-1] if macro[:1] in "{\"" else macro)
        elif piece.lower() in _MONTHS:
            text.append(piece.capitalize())
        else:
            text.append(piece)  # a number, or a macro nobody defined: as written
    return "{" + "".join(text) + "}"


# A "%" no backslash escapes: BibTeX files written by hand or by tools that do not escape it ("over 90%") mean
# a percent sign; read as LaTeX, it started a comment that dropped the rest of the line (often the whole abstract).
_BARE_PERCENT = re.compile(r"(?<!\\)%")
# A field's closing brace or quote, then on the next line another field: the comma between them left out.
# bibtexparser reads both as one value ("No comma here author = Z, Z" became a title, the paper authorless).
_COMMA_LEFT_OUT = re.compile(r'(?<=[}"])([ \t]*\r?\n\s*)([A-Za-z][\w:-]+)(?=[ \t]*=[ \t]*[{"\d])')


def _commas_put_back(text: str) -> tuple[str, list[tuple[int, str]]]:
    """The text with each comma left out between two fields (_COMMA_LEFT_OUT) put in, and where each was."""
    found: list[tuple[int, str]] = []

    def put_back(match: re.Match[str]) -> str:
        found.append((text.count("\n", 0, match.start(2)) + 1, match.group(2)))
        return "," + match.group(0)

    return _COMMA_LEFT_OUT.sub(put_back, text), found


def parse_bibtex(text: str) -> Parsed:
    import bibtexparser
    from bibtexparser.middlewares import (
        LatexDecodingMiddleware,
        default_parse_stack,
    )
    from bibtexparser.model import DuplicateBlockKeyBlock, Entry, ParsingFailedBlock

    # bibtexparser logs each broken block to stderr, with its own line numbers (0-based, some wrong): every
    # failed block is reported below instead, once, by the line it starts on.
    logging.getLogger("bibtexparser").setLevel(logging.CRITICAL)
    verbatim = BIBTEX_MARK in text[:500]  # our own export: its fields are the papers' text as it was
    plain: Callable[[str], str] = tex_unescape if verbatim else str  # but for its titles' and venues' escapes
    # The decoder drops the braces outside math itself; math ($…$, \(…\), \[…\]) stays as written.
    decoder = _latex_decoder()
    decode = [] if verbatim else [LatexDecodingMiddleware(decoder=decoder)]
    # bibtexparser sets an entry whose key was used before aside, undecoded: it is an abstract all the same,
    # so it gets a key of its own (no BibTeX key holds a space) before the middleware runs.
    blocks = []
    duplicates: dict[str, str] = {}
    text, left_out = _commas_put_back(text)
    for block in bibtexparser.parse_string(text, parse_stack=[]).blocks:
        if isinstance(block, DuplicateBlockKeyBlock) and isinstance(block.ignore_error_block, Entry):
            block = block.ignore_error_block
            unique = f"{block.key} #{len(duplicates) + 2}"
            duplicates[unique], block.key = block.key, unique
        blocks.append(block)
    library = bibtexparser.Library(blocks, fail_on_duplicate_key=False)
    macros = {block.key.lower(): block.value for block in library.strings}
    for entry in library.entries:
        for field in entry.fields:
            if isinstance(field.value, str) and (joined := _joined(field.value, macros)) is not None:
                field.value = joined
    for middleware in default_parse_stack():
        library = middleware.transform(library)
    # The names are split before the decoder drops their braces: "{The ATLAS Collaboration}" is one name, all of
    # it a family name, and "{Barnes and Noble}" one author, not two
    # (and taken out of the fields the decoder reads: each name part is decoded alone, and only when it holds LaTeX)
    people: dict[str, str] = {}
    for entry in library.entries:
        for field in [f for f in entry.fields if f.key.lower() == "author" and isinstance(f.value, str)]:
            entry.pop(field.key)
            people[entry.key] = str(field.value)

    def name_text(part: str) -> str:
        if verbatim:
            return tex_unescape(part.replace("{", "").replace("}", ""))
        return str(decoder.latex_to_text(part)) if any(c in part for c in "\\{}$~") else part

    # a link is no LaTeX: decoded, "https://x.org/~lab" lost its "~" to a space
    links = {(id(e), f.key): f.value for e in library.entries for f in e.fields if f.key.lower() in _LINK_FIELDS}
    if decode:  # "by over 90%, decreasing …": a percent sign, not a LaTeX comment eating the rest of the abstract
        for entry in library.entries:
            for field in entry.fields:
                if isinstance(field.value, str):
                    field.value = _BARE_PERCENT.sub(r"\\%", field.value)
                    if field.key.lower() in ("abstract", "title"):  # the decoder wrote "… iterations <cit.>."
                        field.value = without_citations(field.value)
    for middleware in decode:
        library = middleware.transform(library)
    for entry in library.entries if decode else ():
        for field in entry.fields:
            if (id(entry), field.key) in links:  # its escapes undone ("a\\_b"), its "~" kept
                field.value = re.sub(r"\\([&%#_~])", r"\1", str(links[id(entry), field.key]))
    for block in library.failed_blocks:
        head = (block.raw or "").strip().split("\n", 1)[0].rstrip(",")[:60]
        why = "a brace or quote left open, or a comma missing" if type(block) is ParsingFailedBlock else type(block).__name__
        yield (block.start_line or 0) + 1, f"unreadable BibTeX entry {head!r} ({why})"
    entries = [(entry, {k.lower(): v.value for k, v in entry.fields_dict.items()}) for entry in library.entries]
    by_key = {entry.key.lower(): fields for entry, fields in entries}  # BibTeX keys match case-insensitively
    parents = {_clean(fields.get("crossref")).lower() for _, fields in entries} - {""}
    starts = sorted((entry.start_line or 0) + 1 for entry, _ in entries)
    remarks: dict[int, list[str]] = {}  # by the line its entry starts on
    for line, name in left_out:
        if owner := max((start for start in starts if start <= line), default=None):
            remarks.setdefault(owner, []).append(f"a comma is missing before {name!r} on line {line}")
    for entry, fields in entries:
        where = (entry.start_line or 0) + 1
        key = duplicates.get(entry.key, entry.key)
        if parent := by_key.get(_clean(fields.get("crossref")).lower()):
            # As BibTeX does, a field the entry lacks comes from the entry it crossrefs (DBLP's year and
            # booktitle live on the @proceedings); only the container's own fields, and its title as the
            # booktitle (as BibLaTeX maps it): its DOI, URL or abstract are not this paper's.
            inherited = {k: v for k, v in parent.items() if k in _CONTAINER_FIELDS}
            if parent.get("title") and not parent.get("booktitle"):
                inherited["booktitle"] = parent["title"]
            fields = {**inherited, **{k: v for k, v in fields.items() if v}}
        if not fields.get("abstract"):
            if entry.key.lower() not in parents:  # a crossref'd @proceedings is a container, not a paper
                yield where, f"entry {key!r} has no abstract field"
            continue
        authors, families = _bibtex_people(people.get(entry.key, ""), name_text)
        arxiv = _bibtex_arxiv(fields)
        # Google Scholar's `journal={arXiv preprint arXiv:1412.6980}`, DBLP's `journal={CoRR}`: no journal
        on_arxiv = bool(re.match(r"(?:arxiv|corr)\b", _clean(fields.get("journal") or fields.get("journaltitle")), re.IGNORECASE))
        if on_arxiv:  # and its volume: DBLP's CoRR "abs/1412.6980" is arXiv's id again
            fields = {k: v for k, v in fields.items() if k not in ("journal", "journaltitle", "volume", "number")}
        # @misc is no type, unless it is an arXiv preprint (as arXiv and Zotero write one) or says it is one
        kind = with_degree(work_type(entry.entry_type), fields.get("type"))
        if (kind is None or on_arxiv) and (arxiv or _clean(fields.get("note")).lower() == "preprint" or on_arxiv):
            kind = "preprint"
        given_year = _clean(fields.get("year") or fields.get("date"))
        notes = [f"{'; '.join(remarks[where])}: read as if it were there (add it to the file)"] if where in remarks else []
        if no_year := unread_year(given_year):
            notes.append(no_year)
        yield where, {
            "title": plain(unwrap(_clean(fields.get("title"))) if verbatim else _clean(fields.get("title"))),
            "abstract": plain(_clean(fields.get("abstract"))),
            "authors": authors,
            "author_families": families,
            "year": year_of(given_year),
            "month": month_of(fields.get("month")) or month_of(fields.get("date")),
            "url": _clean(fields.get("url")) or None,
            "doi": bare_doi(fields.get("doi")),
            "arxiv_id": arxiv,
            "venue": plain(_bibtex_venue(fields, kind, verbatim)) or None,
            "volume": plain(_clean(fields.get("volume"))),
            "issue": plain(_clean(fields.get("number") or fields.get("issue"))),  # BibLaTeX's @article: issue
            "pages": page_range(fields.get("pages")),
            "publisher": plain(_clean(fields.get("publisher"))),
            "categories": _bibtex_categories(fields),
            "work_type": kind,
            "key": key,
            "duplicate_key": entry.key in duplicates,
            "citation_key": None if entry.key in duplicates else key,  # a key used twice is its first entry's
            "key_may_be_ours": verbatim,  # our own export's keys include those it made (exports.derived_key)
            **({"_remark": "; ".join(notes)} if notes else {}),
        }


_ARXIV_IN_TEXT = re.compile(
    r"arxiv(?:\.org/(?:abs|pdf)/|:\s*|\s+preprint\s+arxiv:\s*|\.)(\d{4}\.\d{4,5}(?:v\d+)?|[a-z-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?)",
    re.IGNORECASE,
)


def _bibtex_arxiv(fields: dict[str, Any]) -> str | None:
    """The arXiv id an entry gives: its eprint (arXiv's own BibTeX, DBLP), else one in its note ("arXiv:2201.11903
    [cs]", Zotero), journal (Google Scholar), link or DOI (10.48550/arXiv.…)."""
    eprint = _clean(fields.get("eprint"))
    archive = str(fields.get("archiveprefix") or fields.get("eprinttype") or "").lower()  # BibLaTeX: eprinttype
    if eprint and (archive == "arxiv" or is_arxiv_id(eprint)):
        return eprint
    return next((found for name in ("note", "journal", "journaltitle", "url", "doi", "howpublished")
                 if (found := arxiv_in_text(fields.get(name)))), None)


def arxiv_in_text(text: object) -> str | None:
    """The arXiv id a note gives ("arXiv: 2203.15556", "arXiv:2201.11903 [cs]"), if any."""
    match = _ARXIV_IN_TEXT.search(_clean(text))
    return match.group(1) if match and is_arxiv_id(match.group(1)) else None


def _bibtex_venue(fields: dict[str, Any], kind: WorkType | None, verbatim: bool = False) -> str:
    """Where the paper appeared: its journal or proceedings; a thesis's school, a report's institution, a book's
    publisher; else @misc's howpublished when it is not a link (in our own export, it is the venue as it was)."""
    school = ("school", "institution")
    own = {"thesis": school, "masters_thesis": school, "report": ("institution",), "book": ("publisher",)}.get(kind or "", ())
    for name in ("journal", "journaltitle", "booktitle", *own, "howpublished"):  # BibLaTeX's @thesis: institution
        value = _clean(fields.get(name)) if name else ""
        if value and (verbatim or not (name == "howpublished" and re.search(r"\\url|https?:", value))):
            return value
    return ""


def _bibtex_categories(fields: dict[str, Any]) -> list[str]:
    """arXiv's primaryClass, then the keywords: a list separated by commas or semicolons, whose entries may
    hold spaces (Zotero's "Computer Science - Machine Learning, Statistics - Machine Learning")."""
    primary = [c for c in re.split(r"[\s,;]+", _clean(fields.get("primaryclass"))) if c]
    keywords = [k.strip() for k in re.split(r"[,;]", _clean(fields.get("keywords"))) if k.strip()]
    return list(dict.fromkeys([*primary, *keywords]))[:8]


# arXiv's category taxonomy (arxiv.org/category_taxonomy) for the archives ML papers are filed in: Zotero
# (its arXiv translator) and other managers tag papers "Computer Science - Machine Learning" where arXiv says
# cs.LG, so `--category cs.LG` (or `cs`) finds them only once the tag is read back as the code.
_ARXIV_ARCHIVES = {
    "computer science": ("cs", {
        "artificial intelligence": "AI", "hardware architecture": "AR", "computational complexity": "CC",
        "computational engineering, finance, and science": "CE", "computational geometry": "CG",
        "computation and language": "CL", "cryptography and security": "CR",
        "computer vision and pattern recognition": "CV", "computers and society": "CY", "databases": "DB",
        "distributed, parallel, and cluster computing": "DC", "digital libraries": "DL", "discrete mathematics": "DM",
        "data structures and algorithms": "DS", "emerging technologies": "ET",
        "formal languages and automata theory": "FL", "general literature": "GL", "graphics": "GR",
        "computer science and game theory": "GT", "human-computer interaction": "HC", "information retrieval": "IR",
        "information theory": "IT", "machine learning": "LG", "logic in computer science": "LO",
        "multiagent systems": "MA", "multimedia": "MM", "mathematical software": "MS", "numerical analysis": "NA",
        "neural and evolutionary computing": "NE", "networking and internet architecture": "NI",
        "other computer science": "OH", "operating systems": "OS", "performance": "PF",
        "programming languages": "PL", "robotics": "RO", "symbolic computation": "SC", "sound": "SD",
        "software engineering": "SE", "social and information networks": "SI", "systems and control": "SY",
    }),
    "statistics": ("stat", {
        "applications": "AP", "computation": "CO", "methodology": "ME", "machine learning": "ML",
        "other statistics": "OT", "statistics theory": "TH",
    }),
    "mathematics": ("math", {
        "optimization and control": "OC", "statistics theory": "ST", "probability": "PR", "numerical analysis": "NA",
        "information theory": "IT", "dynamical systems": "DS",
    }),
    "electrical engineering and systems science": ("eess", {
        "image and video processing": "IV", "signal processing": "SP", "audio and speech processing": "AS",
        "systems and control": "SY",
    }),
    "quantitative biology": ("q-bio", {"neurons and cognition": "NC", "quantitative methods": "QM"}),
    "condensed matter": ("cond-mat", {"disordered systems and neural networks": "dis-nn", "statistical mechanics": "stat-mech"}),
    "physics": ("physics", {"computational physics": "comp-ph", "data analysis, statistics and probability": "data-an"}),
}


# An arXiv category code: an archive, and for most archives a subject class ("cs.LG", "stat.ML", "hep-th").
_ARXIV_CATEGORY = re.compile(
    r"(?:cs|stat|math|eess|econ|q-bio|q-fin|physics|astro-ph|cond-mat|nlin)\.[A-Za-z-]{2,}"
    r"|(?:gr-qc|hep-ex|hep-lat|hep-ph|hep-th|math-ph|nucl-ex|nucl-th|quant-ph)(?:\.[A-Za-z-]{2,})?"
)


def is_arxiv_category(tag: str) -> bool:
    return bool(_ARXIV_CATEGORY.fullmatch(tag))


def arxiv_code(tag: str) -> str:
    """A subject tag as arXiv's category code ("Computer Science - Machine Learning" -> "cs.LG"); any other
    tag unchanged."""
    archive, sep, name = tag.partition(" - ")
    known = _ARXIV_ARCHIVES.get(archive.strip().lower()) if sep else None
    code = known[1].get(name.strip().lower()) if known else None
    return f"{known[0]}.{code}" if known and code else tag.strip()


# -- RIS --------------------------------------------------------------------------------------------
def _report_number(entry: Record) -> str | None:
    """A report's number as Zotero writes it (SN); EndNote's SN is an ISBN or ISSN there too: not a number."""
    sn = _clean(entry.get("issn"))
    return None if re.fullmatch(r"[\dXx -]{8,17}", sn) else sn or None


_RIS_TAG = re.compile(r"\s*(TY|ER)  -")


def _closed_ris(text: str) -> tuple[str, list[int]]:
    """The RIS text with an "ER  -" line closing each reference that lacks one, and the lines those references
    start on: rispy dropped a last reference with no "ER" (a file cut off) without a word."""
    out: list[str] = []
    unclosed: list[int] = []
    open_at: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        tag = _RIS_TAG.match(line)
        if tag and tag[1] == "TY":
            if open_at is not None:
                unclosed.append(open_at)
                out.append("ER  - ")
            open_at = number
        elif tag:
            open_at = None
        out.append(line)
    if open_at is not None:
        unclosed.append(open_at)
        out.append("ER  - ")
    return "\n".join(out) + "\n", unclosed


def _each_line(value: object) -> list[str]:
    """A RIS tag's lines as a list of their texts (one line is a string, none is None)."""
    values = value if isinstance(value, list) else [value]
    return [str(v).strip() for v in values if v and str(v).strip()]


def parse_ris(text: str) -> Parsed:
    import rispy

    closed, unclosed = _closed_ris(text)
    try:
        # an abstract in several AB (or N2) lines is one abstract: rispy kept the first line only
        entries = rispy.loads(closed, list_tags=[*rispy.LIST_TYPE_TAGS, "AB", "N2"])
    except Exception as exc:  # rispy raises plain IOError/ValueError on a broken file
        yield None, f"unreadable RIS ({exc})"
        return
    # Where each record starts ("TY  - "), so a warning names its line as the other formats do.
    starts = [i for i, line in enumerate(text.splitlines(), start=1) if re.match(r"\s*TY  -", line)]
    for number, entry in enumerate(entries, start=1):
        where = starts[number - 1] if len(starts) == len(entries) else None
        abstract = " ".join(_each_line(entry.get("abstract"))) or " ".join(_each_line(entry.get("notes_abstract")))
        if not abstract:
            yield where, f"reference {number} ({_clean(entry.get('title') or entry.get('primary_title'))[:60]!r}) has no abstract (AB)"
            continue
        urls = entry.get("urls") or []
        people = [
            inverted(_clean(a)) if _clean(a).count(",") in (1, 2) else (_clean(a), _clean(a) if group_name(_clean(a)) else "")
            for a in (entry.get("authors") or entry.get("first_authors") or [])
        ]
        authors = noted_more([name for name, _ in people], entry.get("notes"))
        kind = with_degree(work_type(entry.get("type_of_reference")), entry.get("type_of_work"))
        given_year = entry.get("year") or entry.get("publication_year") or entry.get("date")
        notes = [note for note in (
            "no closing “ER  -” line (a file cut off?): read up to the next reference" if where in unclosed else None,
            unread_year(given_year),
        ) if note]
        yield where, {
            "title": _clean(entry.get("title") or entry.get("primary_title")),
            "abstract": _clean(abstract),
            "authors": authors,
            "author_families": {name: family for name, family in people if family},
            "year": year_of(given_year),
            "month": month_of(given_year) or month_of(entry.get("date")),  # PY 2021/05/03/, or DA
            "url": urls[0] if urls else None,
            "doi": bare_doi(entry.get("doi")),
            "venue": _clean(
                entry.get("journal_name") or entry.get("secondary_title")
                or entry.get("custom3")  # C3: Zotero's proceedings title
                or entry.get("alternate_title3")  # JF: EndNote's and PubMed's full journal name
                or ((entry.get("unknown_tag") or {}).get("BT") or [None])[0]  # BT: the book or proceedings title
                or (entry.get("publisher") if kind in PUBLISHED_BY else None)  # a school, an institution
            ) or None,
            "volume": entry.get("volume"),
            "issue": entry.get("number") or (_report_number(entry) if kind == "report" else None),
            "pages": ris_pages(entry),  # a book's SP is its number of pages, as BibTeX's pages of a @book often are
            "publisher": entry.get("publisher"),
            "categories": [_clean(k) for k in entry.get("keywords") or []][:8],
            "work_type": kind,
            "citation_key": entry.get("id"),  # ID: a key (Mendeley's, our export's); EndNote's record numbers are none
            "key_may_be_ours": True,  # our RIS export writes derived keys too
            "_remark": "; ".join(notes) or None,
        }


# -- JSON records: arXiv metadata, OpenAlex, Semantic Scholar, or our own fields ----------------------
def openalex_abstract(index: dict[str, list[int]]) -> str:
    """OpenAlex ships abstracts as {word: [positions]}: put the words back in order."""
    placed = sorted((position, word) for word, positions in index.items() for position in positions)
    return " ".join(word for _, word in placed)


def _bibtex_people(raw: str, text: Callable[[str], str]) -> People:
    """A BibTeX author field's names in reading order ("Smith, Jr., John" -> "John Smith Jr."), with their
    family names (von and last parts, as BibTeX splits them); "and others" (a list cut short) is MORE_AUTHORS."""
    from bibtexparser.middlewares.names import (
        InvalidNameError,
        parse_single_name_into_parts,
        split_multiple_persons_names,
    )

    persons = split_multiple_persons_names(raw) if raw.strip() else []
    names: list[str] = []
    families: dict[str, str] = {}
    for i, person in enumerate(persons):
        if i and i == len(persons) - 1 and person.strip().lower() == "others":
            names.append(MORE_AUTHORS)
            continue
        try:
            parts = parse_single_name_into_parts(person)
        except InvalidNameError:  # too many commas, or a trailing one: read as "Last, First" at the first comma
            name, family = inverted(_clean(text(person)))
        else:
            first, von, last, jr = (_clean(text(" ".join(words))) for words in (parts.first, parts.von, parts.last, parts.jr))
            name, family = _clean(f"{first} {von} {last} {jr}"), _clean(f"{von} {last}")
        if name:
            names.append(name)
            families[name] = family
    return names, families


def _arxiv_authors(record: Record) -> People:
    """arXiv's authors_parsed ([last, first, suffix] each), else its authors string."""
    parsed = record.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        people = [(_clean(f"{' '.join(p[1:2])} {p[0]}"), _clean(p[0])) for p in parsed if isinstance(p, list) and p]
        return [name for name, _ in people], dict(people)
    return split_people(str(record.get("authors") or ""))


def from_json(record: Record) -> Record:
    """A JSON record in any of the supported shapes, in the loader's field names (unknown shapes unchanged)."""
    if "abstract_inverted_index" in record or "authorships" in record:  # OpenAlex work
        index = record.get("abstract_inverted_index") or {}
        locations = record.get("primary_location") or {}
        source = (locations.get("source") or {}) if isinstance(locations, dict) else {}
        biblio = record["biblio"] if isinstance(record.get("biblio"), dict) else {}
        return {
            "title": record.get("display_name") or record.get("title"),
            "abstract": openalex_abstract(index) if isinstance(index, dict) else "",
            "authors": [_clean((a.get("author") or {}).get("display_name")) for a in record.get("authorships") or []],
            "year": record.get("publication_year"),
            "month": month_of(record.get("publication_date")),
            "doi": bare_doi(record.get("doi")),
            "url": (locations.get("landing_page_url") if isinstance(locations, dict) else None) or None,
            "venue": source.get("display_name"),
            "volume": biblio.get("volume"),
            "issue": biblio.get("issue"),
            "pages": ris_pages({"start_page": biblio.get("first_page"), "end_page": biblio.get("last_page")}),
            # a repository's host is no publisher of the work: arXiv's is "Cornell University"
            "publisher": source.get("host_organization_name") if source.get("type") != "repository" else None,
            "categories": [_clean(c.get("display_name")) for c in (record.get("concepts") or [])[:5] if isinstance(c, dict)],
            "work_type": _openalex_type(record.get("type"), source.get("type")),
            "no_abstract": "OpenAlex has no abstract for this work (its abstract_inverted_index is empty)",
        }
    if "paperId" in record or "externalIds" in record:  # Semantic Scholar paper
        ids = record.get("externalIds") or {}
        journal = record["journal"] if isinstance(record.get("journal"), dict) else {}
        if _clean(journal.get("name")).lower() in ("arxiv", "corr"):  # its volume is arXiv's id: "abs/1706.03762"
            journal = {}
        return {
            "title": record.get("title"),
            "abstract": record.get("abstract") or "",
            "no_abstract": "Semantic Scholar has no abstract for this paper (often the publisher's choice)",
            "authors": [_clean(a.get("name")) for a in record.get("authors") or [] if isinstance(a, dict)],
            "year": record.get("year"),
            "month": month_of(record.get("publicationDate")),
            "doi": bare_doi(ids.get("DOI")),
            "arxiv_id": ids.get("ArXiv"),
            "url": record.get("url"),
            "venue": record.get("venue") or None,
            "volume": journal.get("volume"),
            "pages": page_range(journal.get("pages")),
            "categories": list(record.get("fieldsOfStudy") or [])[:5],
            "work_type": _s2_type(record.get("publicationTypes"), ids.get("ArXiv"), record.get("venue")),
        }
    if _is_csl(record):  # CSL JSON: Zotero's, Mendeley's and pandoc's export
        return _from_csl(record)
    arxiv_id = str(record.get("id") or "")
    if "authors_parsed" in record or "update_date" in record or (arxiv_id and (_NEW_ARXIV.match(arxiv_id) or _OLD_ARXIV.match(arxiv_id))):
        versions = record.get("versions") or []
        first = versions[0].get("created") if versions and isinstance(versions[0], dict) else None
        return {
            "title": record.get("title"),
            "abstract": record.get("abstract") or "",
            "authors": (people := _arxiv_authors(record))[0],
            "author_families": people[1],
            "year": year_of(first) or year_of(record.get("update_date")),
            "month": month_of(first) if year_of(first) else month_of(record.get("update_date")),
            "arxiv_id": arxiv_id or None,
            "doi": bare_doi(record.get("doi")),
            "venue": record.get("journal-ref") or None,
            "categories": str(record.get("categories") or "").split()[:8],
            "work_type": "preprint",
        }
    return record


def _s2_type(types: object, arxiv: object, venue: object) -> WorkType | None:
    """["Review", "Conference"]: where it was published over what it is; with no type, an arXiv id and no venue
    but arXiv's own say a preprint (a paper on arXiv with venue "NeurIPS" is a conference paper of unknown type)."""
    known = [t for t in map(work_type, types if isinstance(types, list) else []) if t]
    if known:  # "Review" reads as a journal article: a conference it names wins
        return "conference" if "conference" in known else known[0]
    return "preprint" if arxiv and (not venue or "arxiv" in str(venue).lower()) else None


def _openalex_type(kind: object, source_type: object) -> WorkType | None:
    """OpenAlex calls a proceedings paper an "article" in a source of type "conference", and a preprint an
    "article" in a "repository" (arXiv) as often as a "preprint"."""
    ours = work_type(kind)
    if ours == "article" and source_type in ("conference", "repository"):
        return "conference" if source_type == "conference" else "preprint"
    return ours


# CSL's item types (citationstyles.org, CSL-JSON schema) -> ours. CSL's "article" is a preprint or working paper,
# and so is its "manuscript", as BibTeX's @unpublished and RIS's MANSCPT are.
_CSL_TYPES: dict[str, WorkType] = {
    "article-journal": "article", "article-magazine": "article", "review": "article", "paper-conference": "conference",
    "article": "preprint", "manuscript": "preprint", "book": "book", "chapter": "chapter", "thesis": "thesis",
    "report": "report",
}


def _is_csl(record: Record) -> bool:
    authors = record.get("author")
    return "issued" in record or "container-title" in record or (
        isinstance(authors, list) and any(isinstance(a, dict) and ("family" in a or "literal" in a) for a in authors)
    )


# A citation key (BibTeX's, or a CSL-JSON item's id as Better BibTeX writes it; ADS bibcodes open with a year):
# a letter in it, no spaces, braces, commas or quotes; not a link (Zotero's own CSL JSON ids are item URIs),
# Mendeley's numbering ("ITEM-1"), a bare number, or one of our content ids (twelve hex digits, corpus.paper_id).
_CITATION_KEY = re.compile(r"^(?![0-9a-f]{12}$)(?!.*://)(?!ITEM-\d+$)(?=\d*[A-Za-z])[A-Za-z0-9][^\s{}(),\\#%'\"=~]*$")


def citation_key(value: object) -> str | None:
    """`value` if it reads as a citation key ("vaswani2017attention", "DBLP:conf/nips/VaswaniSPUJGKP17")."""
    return value if isinstance(value, str) and _CITATION_KEY.match(value) else None


def _from_csl(record: Record) -> Record:
    def name(person: object) -> tuple[str, str]:
        if not isinstance(person, dict):
            return _clean(person), ""
        if person.get("literal"):  # a group's name, all of it a family name
            return _clean(person["literal"]), _clean(person["literal"])
        parts = ("given", "dropping-particle", "non-dropping-particle", "family", "suffix")
        family = " ".join(str(person.get(k) or "") for k in ("non-dropping-particle", "family"))
        return _clean(" ".join(str(person.get(k) or "") for k in parts)), _clean(family)

    issued = record.get("issued") or {}
    parts = issued.get("date-parts") if isinstance(issued, dict) else None
    if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
        year, month = parts[0][0], month_of(parts[0][1]) if len(parts[0]) > 1 else None
    else:  # {"raw": "2020-07-12"}, {"literal": "Spring 2019"}, or an EDTF string "2020-07-12"
        written = issued.get("raw") or issued.get("literal") if isinstance(issued, dict) else issued
        year, month = year_of(written), month_of(written)
    # Zotero keeps a preprint's arXiv id as its number: "arXiv:2101.00001 [cs]"
    number = (re.sub(r"^arxiv:\s*", "", _clean(record.get("number")), flags=re.IGNORECASE).split() or [""])[0]
    keywords = record.get("keyword")
    people = [name(p) for p in record.get("author") or []]
    return {
        "title": record.get("title"),
        "abstract": record.get("abstract") or "",
        "authors": noted_more([n for n, _ in people if n], record.get("note")),
        "author_families": {n: family for n, family in people if n and family},
        "year": year,
        "month": month,
        "doi": bare_doi(record.get("DOI")),
        "url": record.get("URL") or None,
        "arxiv_id": number if is_arxiv_id(number) else None,
        "venue": record.get("container-title") or (record.get("publisher") if record.get("type") in PUBLISHED_BY else None),
        "volume": record.get("volume"),
        "issue": record.get("issue") or (record.get("number") if record.get("type") == "report" else None),
        "pages": page_range(record.get("page") or record.get("page-first")),
        "publisher": record.get("publisher"),
        "categories": [k.strip() for k in re.split(r"[,;]", keywords) if k.strip()][:8] if isinstance(keywords, str) else [],
        "work_type": with_degree(_CSL_TYPES.get(str(record.get("type") or "")), record.get("genre")),
        "citation_key": record.get("id"),  # Better BibTeX's citation key (Zotero's own ids are item links: not kept)
        "key_may_be_ours": True,  # our CSL export carries no mark of its own
        "no_abstract": "this CSL JSON item has no abstract",
    }


def json_records(data: object) -> list[Record] | None:
    """The records of a JSON document: a list, OpenAlex's {"results": [...]}, S2's {"data": [...]}, or one work."""
    if isinstance(data, list):
        return [r for r in data if isinstance(r, dict)]
    if isinstance(data, dict):
        for key in ("results", "data", "papers", "works"):
            if isinstance(data.get(key), list):
                return [r for r in data[key] if isinstance(r, dict)]
        return [data]
    return None


# -- arXiv API (Atom) ---------------------------------------------------------------------------------
ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"


def parse_atom(text: str) -> Parsed:
    import xml.etree.ElementTree as ET

    if "<!DOCTYPE" in text or "<!ENTITY" in text:  # an arXiv feed has neither; refuse entity tricks
        yield None, "XML with a DOCTYPE or entities is not an arXiv Atom feed"
        return
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        yield None, f"unreadable XML ({exc})"
        return
    if root.tag != f"{ATOM}feed":  # "no abstracts found" would hide that the file is another format
        endnote = root.find("records/record") is not None  # EndNote's own XML: <xml><records><record>
        yield None, f"not an arXiv Atom feed (its root element is <{root.tag}>)" + (
            "; EndNote XML is not supported: export the library from EndNote as RIS instead" if endnote else ""
        )
        return
    for number, entry in enumerate(root.iter(f"{ATOM}entry"), start=1):
        def text_of(tag: str, node: Any = entry) -> str:
            found = node.find(tag)
            return _clean(found.text) if found is not None and found.text else ""

        identifier = text_of(f"{ATOM}id")
        summary = text_of(f"{ATOM}summary")
        if not summary:
            yield number, f"entry {number} ({identifier or 'no id'}) has no summary"
            continue
        arxiv = identifier.rsplit("/abs/", 1)[-1] if "/abs/" in identifier else None
        yield number, {
            "title": text_of(f"{ATOM}title"),
            "abstract": summary,
            "authors": [text_of(f"{ATOM}name", a) for a in entry.findall(f"{ATOM}author")],
            "year": year_of(text_of(f"{ATOM}published")),
            "month": month_of(text_of(f"{ATOM}published")),
            "url": identifier or None,
            "arxiv_id": arxiv,
            "doi": bare_doi(text_of(f"{ARXIV}doi")),
            "venue": text_of(f"{ARXIV}journal_ref") or None,
            "categories": [c.get("term", "") for c in entry.findall(f"{ATOM}category") if c.get("term")][:8],
            "work_type": "preprint",
        }


# -- names ------------------------------------------------------------------------------------------
_TRUNCATED = re.compile(r"\s*\(\+\s*\d+\s+more\)|(?:^|,?\s+)et\s+al\b\.?|,?\s+and\s+others\s*$", re.IGNORECASE)


# How our RIS (N1), CSV ("Notes") and CSL JSON ("note") say an author list was cut short: an "et al." author
# would be a person of that name to Zotero, EndNote and citeproc. noted_more reads it back as MORE_AUTHORS.
MORE_AUTHORS_NOTE = "Author list incomplete (et al.)"


def noted_more(authors: list[str], notes: object) -> list[str]:
    """`authors`, then MORE_AUTHORS when `notes` (one note or a list of them) holds MORE_AUTHORS_NOTE."""
    said = any(_clean(note) == MORE_AUTHORS_NOTE for note in (notes if isinstance(notes, list) else [notes]))
    return [*authors, MORE_AUTHORS] if said and authors and authors[-1] != MORE_AUTHORS else authors


# A list of people: their names in reading order, and the family name of each where its source said which
# words it is ("García Márquez, Gabriel", CSL's "family", BibTeX's braces around a group's name).
People = tuple[list[str], dict[str, str]]


def split_and(value: str) -> list[str]:
    """'Vaswani, Ashish and Shazeer, Noam', 'A. Vaswani, N. Shazeer, and N. Parmar' or 'A; B' -> names."""
    return split_people(value)[0]


def split_people(value: str) -> People:
    """split_and's names, with the family names the "Last, First" forms give."""
    # What a list cut short says instead of the rest ("(+3 more)" on arXiv pages, "et al.", BibTeX's
    # "and others") names nobody: the names given are kept, then MORE_AUTHORS.
    cleaned = _clean(value)
    people = _people(_TRUNCATED.sub("", cleaned).strip().rstrip(",;").strip())
    names = [name for name, _ in people]
    families = {name: family for name, family in people if family}
    return ([*names, MORE_AUTHORS] if names and _TRUNCATED.search(cleaned) else names), families


# Words that make a name a group's ("The ATLAS Collaboration", "Barnes and Noble"): all of it a family name
_GROUP = re.compile(
    r"\b(?:and|collaboration|consortium|group|team|project|initiative|society|association|institute|laboratory"
    r"|committee|council|network|inc|ltd|llc|corporation|university|foundation)\b",
    re.IGNORECASE,
)


def group_name(name: str) -> bool:
    """Whether a name written without a comma is a group's (a word like Collaboration, Consortium or "and")."""
    return "," not in name and len(name.split()) > 1 and bool(_GROUP.search(name))


def person(name: str) -> tuple[str, str]:
    """One name as a list writes it: "Last, First" turned around, a group's name whole, else as written."""
    name = name.strip()
    if name.count(",") == 1 or _suffixed(name):
        return inverted(name)
    return (name, name) if group_name(name) else (name, "")


def _people(value: str) -> list[tuple[str, str]]:
    if not value:
        return []
    if ";" in value:  # Zotero's "Rivera, Ana; Chen, Bo" (a group's "Barnes and Noble" among them is one name)
        return [person(n) for n in value.split(";") if n.strip()]
    if re.search(r"\sand\s", value):
        parts = re.split(r",?\s+and\s+", value)
        if all(part.count(",") == 1 for part in parts):  # BibTeX's "Last, First and Last, First"
            return [inverted(p) for p in parts]
        return [(n.strip(), "") for part in parts for n in part.split(",") if n.strip()]
    if _suffixed(value):  # one author, "King, Martin Luther, Jr.", not three
        return [inverted(value)]
    before, _, after = value.partition(",")
    if value.count(",") == 1 and before.strip() and after.strip() and (
        " " not in before.strip()
        or ((" " not in after.strip() or _INITIALS.match(after.strip())) and not re.match(r"[A-Z]\.", before.strip()))
    ):
        # one author as Zotero and Mendeley write one: "Kowalski, Piotr", "van der Berg, Jan", "García Márquez,
        # Gabriel", "Smith, J. R."; "Geoffrey Hinton, Yann LeCun" is two
        return [inverted(value)]
    parts = [p.strip() for p in value.split(",")]
    if len(parts) >= 4 and len(parts) % 2 == 0 and all(_INITIALS.match(p) for p in parts[1::2]):
        return [inverted(f"{last}, {first}") for last, first in zip(parts[::2], parts[1::2])]  # "Smith, J., Jones, K."
    return [(n, "") for n in parts if n]


_INITIALS = re.compile(r"^(?:[A-Z]\.?(?:\s*-\s*|\s+)?)+$")  # "J.", "J. R.", "J.-P.", "JR"


def inverted(name: str) -> tuple[str, str]:
    """A "Last, First" name in reading order, and its family name: 'García Márquez, Gabriel' -> ('Gabriel
    García Márquez', 'García Márquez'); RIS's 'Smith, John, Jr.' -> ('John Smith Jr.', 'Smith'); a name
    without a comma as it is, family unknown ("")."""
    parts = [p.strip() for p in name.split(",")]
    if _suffixed(name):
        return f"{parts[1]} {parts[0]} {parts[2]}".strip(), parts[0]
    if "," in name:
        last, first = (p.strip() for p in name.split(",", 1))
        return f"{first} {last}".strip(), last
    return name.strip(), ""


_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}
_PARTICLES = {"van", "von", "der", "den", "de", "da", "di", "del", "della", "du", "la", "le", "ten", "ter", "zu", "dos", "das"}


def _suffixed(name: str) -> bool:
    """Whether a name is RIS's and Zotero's "Last, First, Jr.": one person, the suffix after a second comma."""
    parts = name.split(",")
    return len(parts) == 3 and parts[2].strip().rstrip(".").lower() in _SUFFIXES


def split_name(name: str, family: str | None = None) -> tuple[str, str, str, str]:
    """A name in reading order as (given, particle, family, suffix): "Jan van der Berg" -> ("Jan", "van der",
    "Berg", ""), "Martin Luther King Jr." -> ("Martin Luther", "", "King", "Jr."); one word is a family name
    (a group, "DeepMind"). `family`, when the source said it (Paper.families), is taken as it is: "Gabriel
    García Márquez" with "García Márquez" -> ("Gabriel", "", "García Márquez", ""); a group's whole name ->
    ("", "", name, "")."""
    words = name.split()
    suffix = words.pop() if len(words) > 2 and words[-1].rstrip(".").lower() in _SUFFIXES else ""
    if family and ((whole := " ".join(words)) == family or whole.endswith(f" {family}")):
        return whole[: len(whole) - len(family)].strip(), "", family, suffix
    if len(words) < 2:
        return "", "", " ".join(words), suffix
    family = words.pop()
    particles: list[str] = []
    while len(words) > 1 and words[-1].lower() in _PARTICLES:
        particles.insert(0, words.pop())
    return " ".join(words), " ".join(particles), family, suffix


def unguessed_families(names: list[str], families: object) -> dict[str, str]:
    """Of the family names a source gave (`families`: name -> family), those split_name would not find itself:
    what Paper.families keeps."""
    given = families if isinstance(families, dict) else {}
    kept = {name: unguessed_family(name, str(given.get(name) or "")) for name in names if name != MORE_AUTHORS}
    return {name: family for name, family in kept.items() if family}


def unguessed_family(name: str, family: str) -> str | None:
    """`family`, as a source gave it for `name`, when split_name would not find it in the name itself:
    "García Márquez" in "Gabriel García Márquez", a group's whole name ("The ATLAS Collaboration"); None when
    it would ("van der Berg" in "Jan van der Berg"), or when `family` is not the end of the name."""
    family = _clean(family)
    _, particle, guessed, suffix = split_name(name)
    reading = _clean(name).removesuffix(suffix).strip()
    if not family or family in (guessed, f"{particle} {guessed}".strip()):
        return None
    return family if reading == family or reading.endswith(f" {family}") else None


# -- CSV columns --------------------------------------------------------------------------------------
# Zotero ("Abstract Note", "Publication Year", "Author", "Url"), Mendeley, Scopus, Web of Science.
CSV_ALIASES = {
    "abstract": ("abstract", "abstract note", "abstractnote", "ab"),
    "title": ("title", "article title", "document title", "ti", "primary title"),
    "authors": ("authors", "author", "author full names", "au", "creators"),
    "year": ("year", "publication year", "pub year", "py", "date", "publication date"),
    "month": ("month", "date", "publication date"),  # Zotero's "Date": 2021-05-03
    "url": ("url", "link", "links"),
    "doi": ("doi", "di"),
    "venue": ("publication title", "source title", "journal", "venue", "so"),
    "id": ("id",),
    "categories": ("categories", "manual tags", "automatic tags", "keywords", "author keywords"),
    "publisher": ("publisher", "pu"),  # where a thesis, report or book appeared (Zotero's school, institution)
    "volume": ("volume", "vl"),
    "issue": ("issue", "is"),
    "pages": ("pages", "page range", "art. no.", "ar"),  # an article number when it has no pages (Scopus, WoS)
    "number": ("number",),  # a report's (Zotero)
    "citation_key": ("key", "citation key", "bibtex key"),  # ours, JabRef's; Zotero's "Key" is its item key: csv_key
    "start_page": ("page start", "start page", "bp"),  # Scopus, Web of Science: the first and last page apart
    "end_page": ("page end", "end page", "ep"),
    "work_type": ("item type", "document type", "publication type", "type"),  # Zotero, Scopus, WoS ("J", unknown)
    "type_of_work": ("type",),  # beside Zotero's Item Type "thesis": its Type, "Master's thesis"
    "note": ("extra", "note", "notes"),  # Zotero's "Extra" holds "arXiv: 2203.15556" (parse_csv reads the id)
}


# A spreadsheet reads a cell starting with one of these as a formula ("=HYPERLINK(…)" in a title runs when the CSV is
# opened): exports.to_csv writes such a cell after a "'", as OWASP's CSV-injection advice has it, and this reads it back.
SHEET_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def unsheeted(cell: str) -> str:
    """A CSV cell as it was before exports.to_csv guarded it against a spreadsheet: "'=x" is "=x"."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] and cell[1:2] in SHEET_FORMULA else cell


def csv_key(value: object) -> str | None:
    """A CSV's "Key" as a citation key: ours ("rivera2021kernels"), not Zotero's item key ("5UVPXHGZ")."""
    return None if isinstance(value, str) and re.fullmatch(r"[A-Z0-9]{8}", value.strip()) else citation_key(value)


def csv_columns(header: list[str]) -> dict[str, list[str]]:
    """Our field name -> the header's columns that may hold it, matched case-insensitively with the common
    aliases, in the aliases' order: a row's value is the first of them it fills (Zotero leaves "Publication
    Year" empty when the "Date" is all it has)."""
    lowered = {h.strip().lower(): h for h in header if h}
    chosen = {field: [lowered[a] for a in aliases if a in lowered] for field, aliases in CSV_ALIASES.items()}
    return {field: columns for field, columns in chosen.items() if columns}
