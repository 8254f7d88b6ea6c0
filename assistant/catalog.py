"""The store's paper records, read when they are needed instead of all at start.

At 100k papers, reading every record took most of a cold start and a few hundred MB of a serving
process (benchmarks/RESULTS.md); an answer needs the title and abstract of ten of them.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .filters import Filters
from .store import corpus_fingerprint, replacing
from .types import Header, Paper

if TYPE_CHECKING:
    from .store import Store

RECENT = 4_096  # papers kept after a lookup: the candidates of many questions, a few MB
FILTERS_KEPT = 16  # filters whose matching ids are kept (a set of ids each)


def header_of(paper: Paper) -> Header:
    return Header(paper.id, paper.title, tuple(paper.authors), paper.year, tuple(paper.categories), paper.venue)


class HeaderFile:
    """Every paper's header kept beside the store: a fingerprint line, then one JSON array per paper. Chroma
    reads a metadata-only page of 5,000 records slowly (at 100k papers every header took tens of seconds, so
    the first filtered question did, in every CLI process); this file loads in well under a second."""

    def __init__(self, path: Path | None, fingerprint: str) -> None:
        self.path = path
        self.fingerprint = fingerprint

    def load(self) -> dict[str, Header] | None:
        """The headers, or None when the file is missing, damaged or of another corpus."""
        try:
            with self._opened() as lines:
                rows = (json.loads(line) for line in lines)
                # six fields: a file written before headers held the venue is rebuilt (IndexError below)
                return {str(r[0]): Header(str(r[0]), str(r[1]), tuple(r[2]), r[3], tuple(r[4]), r[5]) for r in rows}
        except (OSError, ValueError, TypeError, IndexError, AttributeError):
            return None

    def fresh(self) -> bool:
        """Whether the file holds this corpus (or there is nowhere to keep one: nothing to write)."""
        if self.path is None:
            return True
        try:
            with self._opened():
                return True
        except (OSError, ValueError, AttributeError):
            return False

    @contextmanager
    def _opened(self) -> Iterator[TextIO]:
        """The file past its fingerprint line; ValueError if it is of another corpus."""
        if self.path is None:
            raise FileNotFoundError("no header file")
        with self.path.open(encoding="utf-8") as lines:
            if json.loads(next(lines, "{}")).get("fingerprint") != self.fingerprint:
                raise ValueError("the header file is of another corpus")
            yield lines

    @contextmanager
    def writer(self) -> Iterator[Callable[[Header], None]]:
        """Yields a function taking each header in turn; the file replaces the old one only if the block
        finishes (an interrupted pass leaves the old file or none)."""
        if self.path is None or not self.path.parent.is_dir():
            yield lambda header: None
            return
        with replacing(self.path) as tmp, tmp.open("w", encoding="utf-8") as out:
            out.write(json.dumps({"fingerprint": self.fingerprint}) + "\n")

            def keep(h: Header) -> None:
                out.write(json.dumps([h.id, h.title, list(h.authors), h.year, list(h.categories), h.venue], ensure_ascii=False) + "\n")

            yield keep

    def save(self, headers: Iterable[Header]) -> None:
        with self.writer() as keep:
            for header in headers:
                keep(header)


class Catalog(Mapping[str, Paper]):
    """Papers by id, fetched from the store on first use and kept in a small LRU; `all()` reads everything."""

    def __init__(self, store: Store, headers_file: Path | None = None) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, Paper] = OrderedDict()
        self._all: dict[str, Paper] | None = None
        self._headers: dict[str, Header] | None = None
        self._key_groups: dict[tuple[str, int | None, str], list[str]] | None = None
        self._matching: OrderedDict[Filters, frozenset[str]] = OrderedDict()
        self._count = store.count()
        saved = store.saved_fingerprint()
        # A store whose last ingest did not finish (or predates the saved fingerprint) is read whole once.
        self.fingerprint = saved or corpus_fingerprint({pid: p.content_hash for pid, p in self.all().items()})
        self.header_file = HeaderFile(headers_file, self.fingerprint)

    def all(self) -> dict[str, Paper]:
        """Every paper, in store order; read once, then kept."""
        if self._all is None:
            papers = {pid: sp.paper for pid, sp in self._store.stored().items()}
            with self._lock:
                self._all = papers
                self._count = len(papers)
        return self._all

    def key_groups(self) -> dict[tuple[str, int | None, str], list[str]]:
        """The store's papers by what deriving one cite key takes (exports.key_group), ids sorted: read once
        from the headers (about a second at 100k papers), then kept, so a paper's key does not depend on which
        papers are exported with it."""
        if self._key_groups is None:
            from .exports import key_group

            groups: dict[tuple[str, int | None, str], list[str]] = {}
            for header in self.headers().values():
                if not (header.authors or header.year):
                    continue  # its key is its id (exports.derived_key)
                groups.setdefault(key_group(header.authors, header.year, header.title), []).append(header.id)
            self._key_groups = {group: sorted(ids) for group, ids in groups.items() if len(ids) > 1}
        return self._key_groups

    def ids_by_cite_key(self) -> dict[str, str]:
        """Each paper's cite key, as `export` writes it for the whole store (exports.cite_keys) -> its id. Reads
        every record: a key given by a .bib is in no header."""
        from .exports import cite_keys

        papers = list(self.all().values())
        return dict(zip(cite_keys(papers, self.key_groups()), (p.id for p in papers)))

    def headers(self) -> dict[str, Header]:
        """Every paper's metadata without its abstract, in store order; read once (from the header file, else
        the store's metadata only), then kept. What a filter or a listing reads: a filtered question at 100k
        papers used to read and keep every record whole (`all()`)."""
        if self._headers is None:
            every = self._all
            headers = {pid: header_of(p) for pid, p in every.items()} if every is not None else self.header_file.load()
            if headers is None:
                headers = {h.id: h for h in self._store.iter_headers()}
                self.header_file.save(headers.values())
            with self._lock:
                self._headers = headers
        return self._headers

    def matching(self, filters: Filters) -> frozenset[str]:
        """The ids of the papers `filters` admits, kept for the last FILTERS_KEPT filters: each question with a
        filter builds a retriever, and at 100k papers checking every header took tens of milliseconds."""
        with self._lock:
            if filters in self._matching:
                self._matching.move_to_end(filters)
                return self._matching[filters]
        ids = frozenset(pid for pid, header in self.headers().items() if filters.admits(header))
        with self._lock:
            self._matching[filters] = ids
            while len(self._matching) > FILTERS_KEPT:
                self._matching.popitem(last=False)
        return ids

    def first(self, n: int) -> list[Paper]:
        """The first `n` papers in store order, without reading the rest."""
        if self._all is not None:
            return list(self._all.values())[:n]
        return [sp.paper for sp in self._store.stored(limit=n).values()]

    def many(self, ids: Sequence[str]) -> dict[str, Paper]:
        """The papers among `ids` that the store holds, in one store call for those not yet seen (another
        instance sharing a Chroma server may have added some since `all()` was read)."""
        with self._lock:
            known = [(pid, self._recent.get(pid) or (self._all or {}).get(pid)) for pid in ids]
        found = {pid: paper for pid, paper in known if paper is not None}
        missing = [pid for pid in dict.fromkeys(ids) if pid not in found]
        if missing:
            found.update(self._store.papers_by_id(missing))
        with self._lock:
            for pid in ids:
                if pid in found:
                    self._recent[pid] = found[pid]
                    self._recent.move_to_end(pid)
            while len(self._recent) > RECENT:
                self._recent.popitem(last=False)
        return {pid: found[pid] for pid in ids if pid in found}

    def __getitem__(self, pid: str) -> Paper:
        return self.many([pid])[pid]

    def __contains__(self, pid: object) -> bool:
        return isinstance(pid, str) and bool(self.many([pid]))

    def __iter__(self) -> Iterator[str]:
        return iter(self.all())

    def __len__(self) -> int:
        return self._count
