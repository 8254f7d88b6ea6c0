"""Which papers a question may draw on: a year range, author names, categories, venues (`--year 2019..2021
--author Rivera --category cs.LG --venue NeurIPS`). Applied inside the searches (retrieve.PaperRetriever), so the top k
are k papers that match, not the matching few of an unfiltered top k."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import ConfigError
from .types import Header, Paper, named_authors

# Letters that are not a base letter plus an accent, so Unicode decomposition leaves them as they are: their
# usual ASCII spelling (as unidecode gives it), so "Sorensen" finds "Sørensen" and "Lukasz" finds "Łukasz".
# Lower case only: fold() casefolds first (Ø -> ø, ß -> ss).
_LETTERS = str.maketrans({"ø": "o", "ł": "l", "æ": "ae", "œ": "oe", "đ": "d", "ð": "d", "þ": "th", "ı": "i", "ħ": "h", "ŧ": "t", "ŋ": "ng", "ĸ": "k"})


def fold(name: str) -> str:
    """A name as compared: case and accents ignored, letters spelt in ASCII ("Ré" and "Re", "Müller" and
    "muller", "Łukasz" and "lukasz"). The one rule for every place that matches names."""
    if name.isascii():  # most names: a filter over 100k papers folds half a million of them
        return name.lower()
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_LETTERS)


def holds_name(name: str, wanted: str, whole: bool = False) -> bool:
    """Whether the folded author name holds the folded `wanted`; with `whole`, as whole words: "su" is in
    "jianlin su" but not in "jian sun" ("papers by Su" listed Kaiming He et al. for their co-author Jian Sun)."""
    if wanted not in name:  # the common case, and cheap: half a million names at 100k papers
        return False
    return not whole or re.search(rf"(?<!\w){re.escape(wanted)}(?!\w)", name) is not None


# The big machine-learning venues by the short names researchers type, as reference managers spell them in
# full: `--venue NeurIPS` finds "Advances in Neural Information Processing Systems 34". Matched as whole words,
# "&" read as "and"; a longer venue that holds the name is another venue (NAACL, TACL, ICMLA: _NOT_THE_VENUE).
VENUE_NAMES = {
    "neurips": "neural information processing systems", "nips": "neural information processing systems",
    "icml": "international conference on machine learning", "iclr": "international conference on learning representations",
    "jmlr": "journal of machine learning research", "tmlr": "transactions on machine learning research",
    "aistats": "artificial intelligence and statistics", "colt": "conference on learning theory",
    "uai": "uncertainty in artificial intelligence", "cvpr": "computer vision and pattern recognition",
    "iccv": "international conference on computer vision", "eccv": "european conference on computer vision",
    "acl": "association for computational linguistics", "emnlp": "empirical methods in natural language processing",
    "aaai": "aaai conference on artificial intelligence", "ijcai": "international joint conference on artificial intelligence",
    "kdd": "knowledge discovery and data mining",
    "tpami": "transactions on pattern analysis and machine intelligence",
    "naacl": "north american chapter of the association for computational linguistics",
    "eacl": "european chapter of the association for computational linguistics",
    "tacl": "transactions of the association for computational linguistics",
}
# A longer venue that holds a big one's full name is another venue: NAACL, EACL, AACL and TACL hold ACL's, the
# Findings of EMNLP name ACL too, ICMLA and ICMLC hold ICML's ("... Machine Learning and Applications"), PAKDD
# KDD's. A short name written out ("ICMLC") is a word of its own already.
_NOT_THE_VENUE = {
    "acl": r"(?:chapter of the|transactions of the) association|computational linguistics:\s*(?:emnlp|naacl|eacl|aacl)",
    "icml": r"international conference on machine learning and\b",
    "kdd": r"pacific[- ]asia",
}


def holds_venue(venue: str | None, wanted: str) -> bool:
    """Whether a paper's venue is the one asked for: a folded substring ("icml" in "ICML 2021"), or a big venue's
    full name for its short one, as a whole word ("ICLR" is not found inside another word)."""
    if not venue:
        return False
    have, want = fold(venue).replace("&", "and"), fold(wanted).strip()
    if want not in VENUE_NAMES:
        return want in have
    if (other := _NOT_THE_VENUE.get(want)) and re.search(other, have):
        return False
    short = rf"(?<![a-z])(?:sig)?{re.escape(want)}(?![a-z])"  # ACM's SIGKDD is KDD
    return re.search(short, have) is not None or re.search(rf"(?<![a-z]){re.escape(VENUE_NAMES[want])}(?![a-z])", have) is not None


def _each(values: str | Iterable[str]) -> tuple[str, ...]:
    """One string is one name, never its letters; any other iterable as a tuple."""
    return (values,) if isinstance(values, str) else tuple(values)


def _first_name_first(name: str) -> str:
    """ "Hinton, Geoffrey" (family name first, as Zotero and BibTeX show it) as "Geoffrey Hinton"; a name with
    no comma, or more than one, as it is."""
    family, comma, given = name.partition(",")
    if not comma or "," in given or not family.strip() or not given.strip():
        return name
    return f"{given.strip()} {family.strip()}"


_VENUE_YEAR = re.compile(r"^(.*\S)\s+((?:19|20)\d\d)$")  # "NeurIPS 2021": a venue and its year
_YEARS = re.compile(r"^\s*(\d{4})?\s*(\.\.|-|–)?\s*(\d{4})?\s*$")


@dataclass(frozen=True)
class Filters:
    first_year: int | None = None
    last_year: int | None = None
    authors: tuple[str, ...] = ()  # any of them, matched case-insensitively inside an author's name
    categories: tuple[str, ...] = ()  # any of them, matched case-insensitively
    every_author: bool = False  # all of `authors` on one paper ("papers by both X and Y"), not any
    # `authors` as whole words of a name: one a question gives ("papers by Su") is a whole name, not a fragment
    # to search for as --author's is ("river" finds Rivera and Rivers).
    whole_names: bool = False
    venues: tuple[str, ...] = ()  # any of them: a part of the venue's name, or a short name in VENUE_NAMES

    def __post_init__(self) -> None:
        # Filters(authors="Chen") would otherwise be read a letter at a time, and admit nearly every paper
        for name in ("authors", "categories", "venues"):
            object.__setattr__(self, name, _each(getattr(self, name)))

    def __bool__(self) -> bool:
        return bool(self.first_year or self.last_year or self.authors or self.categories or self.venues)

    @classmethod
    def parse(
        cls,
        year: str | int | None = None,
        authors: Sequence[str] = (),
        categories: Sequence[str] = (),
        venues: Sequence[str] = (),
    ) -> Filters:
        """From the CLI's strings: year "2019" (or 2019), "2019..2021", "2019..", "..2021"; a venue may end in its
        year ("NeurIPS 2021"), which is then the year filter (when no other is given and the venues name one year).
        An author as reference managers show one, "Hinton, Geoffrey", is read as "Geoffrey Hinton"."""
        if isinstance(year, int) and not isinstance(year, bool):
            year = str(year)
        elif year is not None and not isinstance(year, str):
            raise TypeError(f"year must be a year (2019 or \"2019\") or a range like \"2019..2021\", not a {type(year).__name__}")
        venues = _each(venues)
        dated = [_VENUE_YEAR.match(v.strip()) for v in venues]
        years_named = {m.group(2) for m in dated if m}
        if not year and len(years_named) == 1 and all(dated):
            year = years_named.pop()
            venues = [m.group(1) for m in dated if m]
        first = last = None
        if year:
            match = _YEARS.match(year)
            if not match or not (match.group(1) or match.group(3)):
                raise ConfigError(f"--year takes a year or a range like 2019..2021, not {year!r}")
            first = int(match.group(1)) if match.group(1) else None
            last = int(match.group(3)) if match.group(3) else (None if match.group(2) else first)
            if first and last and first > last:
                raise ConfigError(f"--year {year}: the range ends before it starts")
        def kept(values: str | Iterable[str]) -> tuple[str, ...]:
            return tuple(v.strip() for v in _each(values) if v.strip())

        return cls(first, last, tuple(_first_name_first(a) for a in kept(authors)), kept(categories), venues=kept(venues))

    def admits(self, paper: Paper | Header) -> bool:
        if self.first_year or self.last_year:
            if paper.year is None:
                return False
            if (self.first_year and paper.year < self.first_year) or (self.last_year and paper.year > self.last_year):
                return False
        if self.authors:
            names = [fold(a) for a in named_authors(paper.authors)[0]]
            found = [any(holds_name(name, fold(wanted), self.whole_names) for name in names) for wanted in self.authors]
            if not (all(found) if self.every_author else any(found)):
                return False
        if self.categories:  # "cs" admits every arXiv category of that archive (cs.LG, cs.IR, ...)
            have = {c.lower() for c in paper.categories}
            archives = {c.split(".", 1)[0] for c in have if "." in c}
            if not any(c.lower() in have or c.lower() in archives for c in self.categories):
                return False
        return not self.venues or any(holds_venue(paper.venue, wanted) for wanted in self.venues)

    def describe(self) -> str:
        parts = []
        if self.first_year or self.last_year:
            if self.first_year == self.last_year:
                parts.append(f"year {self.first_year}")
            else:
                parts.append(f"years {self.first_year or '…'}–{self.last_year or '…'}")
        if self.authors:
            joined = " and ".join(self.authors) if self.every_author else " or ".join(self.authors)
            parts.append(("authors " if self.every_author and len(self.authors) > 1 else "author ") + joined)
        if self.categories:
            parts.append("category " + " or ".join(self.categories))
        if self.venues:
            parts.append("venue " + " or ".join(self.venues))
        return ", ".join(parts)
