"""The store's paper records, read when they are needed instead of all at start.

At 100k papers, reading every record took most of a cold start and a few hundred MB of a serving
process (benchmarks/RESULTS.md); an answer needs the title and abstract of ten of them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from .filters import Filters
from .store import corpus_fingerprint
from .types import Header, Paper

if TYPE_CHECKING:
    from .store import Store

RECENT = 4_096  # papers kept after a lookup: the candidates of many questions, a few MB
FILTERS_KEPT = 16  # filters whose matching ids are kept (a set of ids each)


class Catalog(Mapping[str, Paper]):
    """Papers by id, fetched from the store on first use and kept in a small LRU; `all()` reads everything."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, Paper] = OrderedDict()
        self._all: dict[str, Paper] | None = None
        self._headers: dict[str, Header] | None = None
        self._matching: OrderedDict[Filters, frozenset[str]] = OrderedDict()
        self._count = store.count()
        saved = store.saved_fingerprint()
        # A store whose last ingest did not finish (or predates the saved fingerprint) is read whole once.
        self.fingerprint = saved or corpus_fingerprint({pid: p.content_hash for pid, p in self.all().items()})

    def all(self) -> dict[str, Paper]:
        """Every paper, in store order; read once, then kept."""
        if self._all is None:
            papers = {pid: sp.paper for pid, sp in self._store.stored().items()}
            with self._lock:
                self._all = papers
                self._count = len(papers)
        return self._all

    def headers(self) -> dict[str, Header]:
        """Every paper's metadata without its abstract, in store order; read once (metadata only), then kept.
        What a filter or a listing reads: a filtered question at 100k papers used to read and keep every
        record whole (`all()`)."""
        if self._headers is None:
            every = self._all
            headers = (
                {pid: Header(pid, p.title, tuple(p.authors), p.year, tuple(p.categories)) for pid, p in every.items()}
                if every is not None
                else {h.id: h for h in self._store.iter_headers()}
            )
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
