"""Pure data: the nouns of the assistant. No I/O here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

# The last entry of an author list its source cut short ("et al.", BibTeX's "and others", arXiv's "(+3 more)"):
# kept, so a citation never shows two of seven authors as the whole list.
MORE_AUTHORS = "et al."


def named_authors(authors: Sequence[str]) -> tuple[list[str], bool]:
    """The names in an author list, and whether its source named only the first ones."""
    names = [a for a in authors if a != MORE_AUTHORS]
    return names, len(names) < len(authors)


# What kind of work a paper is, as reference managers tell it (BibTeX's entry type, RIS's TY, Zotero's Item
# Type, OpenAlex's type): kept so an export writes @inproceedings with a booktitle, not @article for everything.
# None when no source says (a plain text or JSON file).
# "thesis" is a doctoral or unspecified one; a master's thesis is told apart, as BibTeX tells them apart.
WorkType = Literal["article", "conference", "preprint", "book", "chapter", "thesis", "masters_thesis", "report"]
# The kinds whose venue is who published them: a thesis's school, a report's institution, a book's publisher.
PUBLISHED_BY: frozenset[str] = frozenset({"thesis", "masters_thesis", "report", "book"})


def venue_and_year(venue: str | None, year: int | None) -> str:
    """"NeurIPS 2021" as a reference reads, "Journal of Machine Learning Research, 2019", "2021", or ""; a
    venue that already says its year keeps it once (arXiv's journal-ref "Phys. Rev. D 70 (2004)")."""
    when = str(year) if year and str(year) not in (venue or "") else ""
    if not (venue and when):
        return venue or when
    # A short name reads with its year ("ICML 2019"); a longer one is set off from it, so "… Systems 34, 2021"
    # is not one number and every reference reads alike
    return f"{venue}{',' if len(venue.split()) > 1 else ''} {when}"


# A paper's place in its venue (Paper's fields of these names): read by every parser, stored, exported.
LOCATOR_FIELDS = ("volume", "issue", "pages", "publisher")


def volume_and_pages(volume: str | None, issue: str | None, pages: str | None) -> str:
    """Where in its venue, as a reference reads it: "9(8), 1735–1780", "21, e1023", "no. 8", or ""."""
    held = f"{volume}({issue})" if volume and issue else volume or (f"no. {issue}" if issue else "")
    return ", ".join(part for part in (held, pages) if part)


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class Header(NamedTuple):
    """A paper's metadata without its abstract: what filters and listings read of every paper. A tuple, not a
    Paper: at 100k papers a filter's view of the store is tens of MB instead of the ~1 GB of every record."""

    id: str
    title: str
    authors: tuple[str, ...]
    year: int | None
    categories: tuple[str, ...]
    venue: str | None = None


class Paper(_Record):
    """One distinct abstract, however many files it appeared in."""

    id: str
    title: str
    abstract: str
    authors: list[str] = Field(default_factory=list)
    # An author's family name where the source said it and the name's own words would not ("Gabriel García
    # Márquez" -> "García Márquez"; a group's whole name, "The ATLAS Collaboration"), so an export splits it
    # as the source did; names whose family is their last word (after a particle) are not here
    families: dict[str, str] = Field(default_factory=dict)
    sources: list[str] = Field(default_factory=list)
    url: str | None = None
    year: int | None = None
    month: int | None = None  # 1-12, where the source dated the paper within its year (kept for the exports)
    doi: str | None = None
    venue: str | None = None
    categories: list[str] = Field(default_factory=list)
    has_title: bool = True  # False when `title` is a label made from the abstract
    work_type: WorkType | None = None
    key: str | None = None  # the citation key its .bib or CSL JSON gave it, which every export keeps
    # Where in its venue, as reference managers keep it, so an exported reference is whole
    volume: str | None = None
    issue: str | None = None  # BibTeX's "number", RIS's IS, CSL's "issue" (a report's number)
    pages: str | None = None  # "45–67" with an en dash, one page, or an article number ("e1023")
    publisher: str | None = None  # of a journal or proceedings (a book's, thesis's or report's is its venue)

    @property
    def content_hash(self) -> str:
        from hashlib import sha256

        parts = [self.title, self.abstract, ";".join(self.authors), self.url or "", str(self.year)]
        if self.doi or self.venue or self.categories:  # only then: papers stored before keep their hash
            parts += [self.doi or "", self.venue or "", ";".join(self.categories)]
        if self.work_type:  # likewise: a paper whose source gave no type keeps its hash
            parts.append(self.work_type)
        if self.key:  # and one whose source gave no key
            parts.append(f"key:{self.key}")
        if any(located := [getattr(self, name) for name in LOCATOR_FIELDS]):  # and one with none of these
            parts.append("in:" + "|".join(value or "" for value in located))
        if self.month:  # and one whose source gave no month
            parts.append(f"month:{self.month}")
        if self.families:  # and one whose names split as their words say
            parts.append("families:" + "|".join(f"{name}={family}" for name, family in sorted(self.families.items())))
        return sha256("\x1f".join(parts).encode()).hexdigest()[:16]


class ParseIssue(_Record):
    """A file or line that could not be (fully) read; reported, never fatal."""

    source: str
    message: str
    line: int | None = None
    refused: bool = False  # a file named on the command line that could not be read at all (exit 4)
    kept: bool = False  # a remark on something that was read all the same (not counted as skipped)

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.message}"


class Passage(_Record):
    """A retrieved piece of evidence, one per paper."""

    paper_id: str
    title: str
    score: float
    text: str


class Citation(_Record):
    """A resolved [n] marker: which paper it points to and the sentence that supports it."""

    n: int
    paper_id: str
    title: str
    quote: str
    authors: list[str] = Field(default_factory=list)
    year: int | None = None
    url: str | None = None
    venue: str | None = None
    has_title: bool = True  # False when `title` is the label made from the abstract (Paper.has_title)

    @classmethod
    def of(cls, n: int, paper: Paper, quote: str) -> Citation:
        return cls(n=n, paper_id=paper.id, title=paper.title, quote=quote, authors=paper.authors, year=paper.year,
                   url=paper.url, venue=paper.venue, has_title=paper.has_title)

    def reference(self, title: str | None = None) -> str:
        """`Title — A. Author et al., NeurIPS 2021, url`, with what is known; `title`: the title as the reader
        is shown it (its LaTeX made readable), when not as stored. An untitled paper's label carries its id."""
        who = ""
        names, more = named_authors(self.authors)
        if names:
            who = names[0] + (" et al." if len(names) > 2 or more else f" and {names[1]}" if len(names) == 2 else "")
        when = venue_and_year(self.venue, self.year)
        details = ", ".join(part for part in (who, when, self.url or "") if part)
        title = title or self.title
        if not self.has_title:  # the abstract's first words: the id finds the record (`assistant similar`, `export`)
            title = f"{title} (id {self.paper_id})"
        return f"{title} — {details}" if details else title


Support = Literal["strong", "partial", "none"]


class Answer(_Record):
    """A cited answer. `text` has only resolvable [n] markers; `raw_text` is what was composed. `support`
    says how well the abstracts back it: strong, partial (read it with care) or none (abstained or uncited)."""

    question: str
    text: str
    citations: list[Citation]
    abstained: bool
    settings_hash: str
    support: Support = "none"
    mode: str = "extractive"
    raw_text: str = ""
    notice: str | None = None
    fallback: bool = False  # the LLM was unavailable, and the extractive composer wrote this answer instead
    dropped_markers: int = 0
    reasoning: str = ""  # what a reasoning model thought aloud before answering: a trace, never the answer
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # the retrieved abstracts, whole: kept out of repr(), which would otherwise run to thousands of characters
    passages: list[Passage] = Field(default_factory=list, repr=False)

    def to_json(self) -> dict[str, object]:
        """The stable shape printed by `assistant ask --json`, as a dict ready for json.dumps."""
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "support": self.support,
            "citations": [c.model_dump(exclude={"has_title"}) for c in self.citations],  # the shape as documented
            "settings_hash": self.settings_hash,
            "mode": self.mode,
            "notice": self.notice,
            "dropped_markers": self.dropped_markers,  # markers naming no source, removed from the answer
            "raw_text": self.raw_text,  # the model's own words (the composed text, offline)
            "reasoning": self.reasoning,
        }


class IngestReport(_Record):
    """What one ingest did."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: int = 0
    chunks_embedded: int = 0
    issues: list[ParseIssue] = Field(default_factory=list)

    def summary(self) -> str:
        line = (
            f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.removed} removed, {self.skipped} skipped"
        )
        if not self.new and not self.updated:
            line += " (nothing embedded)"
        return line


class TextDelta(_Record):
    """Streamed piece of answer text."""

    kind: Literal["text"] = "text"
    text: str


class Status(_Record):
    """Progress note for the page: retrieving, writing, ..."""

    kind: Literal["status"] = "status"
    stage: str


class Reading(_Record):
    """The papers an answer is being written from, best first: sent before a model starts reading them, so a
    reader sees the sources while the answer is still to come."""

    kind: Literal["reading"] = "reading"
    papers: list[Passage]


class Final(_Record):
    """Last event of a stream: the validated answer."""

    kind: Literal["final"] = "final"
    answer: Answer


Event = TextDelta | Status | Reading | Final
