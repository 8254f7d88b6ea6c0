"""The store: Chroma collections, their schema and records, and every file the store folder holds.

Three collections: `chunks` and `sentences` hold LlamaIndex nodes (through ChromaVectorStore),
`papers` holds one record per paper and is written last, so a paper only counts as ingested once
all its vectors are in. The `papers` collection's metadata records what built the store.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import json
import math
import os
import secrets
import shutil
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import numpy as np

from .config import INT8_MARK, Settings
from .errors import StoreError
from .types import LOCATOR_FIELDS, Header, Paper, WorkType

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection
    from llama_index.core.schema import TextNode
    from llama_index.vector_stores.chroma import ChromaVectorStore

# 2: sentence vectors pooled from their chunk's forward pass; 3: chunks counted in word pieces; 4: a paper's
# sentences are one record of `sentence_sets` (texts and float16 vectors), not one vector record each
SCHEMA = "4"
PAPERS, CHUNKS, SENTENCE_SETS = "papers", "chunks", "sentence_sets"
LEGACY_SENTENCES = "sentences"  # schema 3's collection of one 384-d record per sentence: migrated, then dropped
# Retrieval reads sentence vectors from the sentence matrix on disk (sentences.py), never by a vector search, so
# they are kept one record per paper: its texts (the document, JSON) and its vectors (float16, base64, in the
# metadata), beside a placeholder embedding (Chroma needs one). Searched by nobody, the 0.9 M-vector HNSW index
# of schema 3 was most of an ingest's memory at 100k papers (5.4 GB peak) and 9 of the 22 ms a paper an
# ingest spent outside the model (benchmarks/RESULTS.md); a record each costs about 1 ms.
PLACEHOLDER = [1.0]
# Chroma rebuilds a collection's HNSW graph in a random insertion order (in every process while it holds
# fewer than its sync threshold of 1,000 vectors), and at its default ef_search of 100 the search missed
# some of the 30 nearest hits, differently in each process: dense rankings changed from run to run. An
# ef_search at least the collection's size makes the search exact, so a collection of up to EF_SEARCH
# vectors is searched at EF_SEARCH. A larger one keeps its graph on disk (the same in every process) and is
# searched at EF_LARGE: on the 100k-paper store's 136k chunks, 50 deep, ef 1000 took 5.2 ms a query and
# 200 took 1.8 ms, finding .955 of the 50 and .963 of the 10 nearest that ef 1000 finds (benchmarks/RESULTS.md).
EF_SEARCH = 1000
EF_LARGE = 200
# Records read per Chroma call: one `get` of 100k records fails in Chroma with "too many SQL variables".
PAGE = 5_000
# A filtered search. Chroma's `$in` binds one SQL variable per id: 40k ids failed ("too many SQL variables"),
# and on 60k records 1k / 10k / 30k ids took 25 / 76 / 214 ms against 2.3 ms unfiltered. So a filter that
# admits at least WIDE_FILTER of the papers searches unfiltered, deep enough to expect twice `depth` admitted
# hits, and keeps those; a narrower one binds its ids IN_BATCH at a time and merges the batches' nearest.
WIDE_FILTER = 0.05
IN_BATCH = 20_000
# Key of the `papers` collection metadata holding the corpus fingerprint: set by each finished ingest,
# emptied while one runs, so a start can trust it without reading every record.
FINGERPRINT = "corpus_fingerprint"

# The store folder's names. Chroma writes `chroma.sqlite3` (and its -wal/-shm siblings) and one folder
# per vector segment named by UUID; the assistant writes the rest, each but the marker first as a .tmp.
CHROMA_DB = "chroma.sqlite3"
MARKER = "assistant-store.json"
JOURNAL = "ingest-journal.json"
BM25 = "bm25"  # the keyword index (retrieve.KeywordIndex), per instance with a Chroma server
TERM_DF = "term-df.json"  # the term weights (answer.TermWeights), likewise
SENTENCE_MATRIX = "sentence-matrix"  # sentence texts and vectors by paper (sentences.SentenceMatrix), likewise
HEADERS = "headers.jsonl"  # every paper's metadata without its abstract (catalog.HeaderFile), likewise
# The records a rebuild embeds again, written before it removes them and removed once it has embedded them
# all: a killed rebuild loses nothing, the next ingest embeds what is left. Kept when a store is reset.
PENDING = "rebuild-pending.jsonl"
# The key the page encrypts readers' saved conversations with (ui.access.browser_secret): kept through a
# reset, so a rebuild does not lose them either.
PAGE_SECRET = "page-secret"
_KEEP = {"README.md", ".gitkeep", ".gitignore", PAGE_SECRET}


TMP = ".tmp-"  # "<name>.tmp-<pid>-<random>": where a file or folder is written before it replaces <name>
STALE_TMP_S = 3600  # a temp file this old was left by a killed writer


def tmp_of(path: Path) -> Path:
    """Where `path` is written before it replaces the old one: a name of this process's own, since two
    processes may rebuild the same cache at once (an ingest, and a server reloading after it; a shared
    ".tmp" name let one delete the other's half-written folder — caught by the concurrency test in CI)."""
    return path.with_name(f"{path.name}{TMP}{os.getpid()}-{secrets.token_hex(4)}")


_NAMES = (JOURNAL, BM25, TERM_DF, SENTENCE_MATRIX, HEADERS, PENDING)
_OURS = {MARKER, *_NAMES}


@dataclass(frozen=True)
class StoreLayout:
    """The paths of the files the assistant keeps in a store folder."""

    root: Path
    marker: Path
    journal: Path
    bm25: Path
    term_df: Path
    sentence_matrix: Path
    headers: Path
    pending: Path

    @classmethod
    def at(cls, root: Path) -> StoreLayout:
        return cls(
            root, root / MARKER, root / JOURNAL, root / BM25, root / TERM_DF, root / SENTENCE_MATRIX, root / HEADERS,
            root / PENDING,
        )


REPLACE_TRIES = 5  # a folder another writer keeps putting back (see replacing)


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a .tmp sibling to write (a file or a folder); when the block succeeds, it replaces `path`
    in one rename, so a reader never sees half a file."""
    tmp = tmp_of(path)
    for stale in path.parent.glob(f"{path.name}{TMP}*") if path.parent.is_dir() else ():
        try:
            if time.time() - stale.stat().st_mtime > STALE_TMP_S:
                _remove(stale)
        except OSError:
            pass  # another writer finished (renamed it) meanwhile
    try:
        yield tmp
    except BaseException:
        _remove(tmp)
        raise
    if not tmp.is_dir():
        tmp.replace(path)
        return
    # A rename cannot replace a folder that has files in it: the old one goes first (briefly absent, never half).
    # Another process may write the same folder meanwhile (a server re-reading the store after this ingest builds
    # the same BM25 cache) and put its copy there between the two steps: remove it again, last writer wins.
    for attempt in range(REPLACE_TRIES):
        _remove(path)
        try:
            tmp.replace(path)
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST) or attempt == REPLACE_TRIES - 1:
                _remove(tmp)
                raise


def write_atomic(path: Path, text: str) -> None:
    with replacing(path) as tmp:
        tmp.write_text(text)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def corpus_fingerprint(hashes: dict[str, str]) -> str:
    """Of paper id -> content hash: changes whenever any paper's indexed content changes."""
    digest = hashlib.sha256()
    for pid in sorted(hashes):
        digest.update(f"{pid}:{hashes[pid]};".encode())
    return digest.hexdigest()[:16]


def rebuild_hint(settings: Settings) -> str:
    return f"rebuild it with `assistant ingest --rebuild` (store: {settings.chroma_url or settings.store_dir})"


# -- disk safety ---------------------------------------------------------------------------------------
def _write_marker(store: Path) -> None:
    StoreLayout.at(store).marker.write_text(json.dumps({"kind": "abstract-assistant store"}) + "\n")


def _open_client(settings: Settings) -> ClientAPI:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        from urllib.parse import urlparse

        url = urlparse(settings.chroma_url)
        try:
            return chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        except Exception as exc:
            raise StoreError(
                f"cannot reach the Chroma server at {settings.chroma_url} ({type(exc).__name__}); "
                "start it with `chroma run --path DIR --port N` or unset ASSISTANT_CHROMA_URL"
            ) from None
    store = Path(settings.store_dir)
    refuse_foreign(store)
    store.mkdir(parents=True, exist_ok=True)
    try:
        client = chromadb.PersistentClient(path=str(store), settings=chroma_settings)
        client.list_collections()
    except Exception as exc:
        # Its records are lost with it: a rebuild can only read the files again, so the message says which.
        raise StoreError(
            f"the store at {store} is unreadable ({type(exc).__name__}); rebuild it with `assistant ingest --rebuild`, "
            "naming the files you had added besides the seeds"
        ) from None
    _write_marker(store)
    return client


def refuse_foreign(store: Path) -> None:
    """Never write Chroma files into a directory that holds someone else's data."""
    if not store.exists():
        return
    if not store.is_dir():
        raise StoreError(f"ASSISTANT_STORE_DIR={store} is a file, not a directory; point it at a directory")
    names = {p.name for p in store.iterdir()} - _KEEP
    if names and MARKER not in names and CHROMA_DB not in names:
        raise StoreError(
            f"{store} holds files that are not an Abstract Assistant store; "
            "set ASSISTANT_STORE_DIR to an empty or new directory"
        )


def _forget_client(store: Path) -> None:
    """Chroma caches one system per directory for the whole process; a failed open must not stick."""
    from chromadb.api.shared_system_client import SharedSystemClient

    for key in {str(store), str(store.resolve())}:
        SharedSystemClient._identifier_to_system.pop(key, None)
        SharedSystemClient._identifier_to_refcount.pop(key, None)


def _written_by_us(entry: Path) -> bool:
    """Chroma's database and segment folders (named by UUID), and the assistant's own files."""
    if entry.name.startswith(CHROMA_DB) or entry.name in _OURS or any(entry.name.startswith(n + TMP) for n in _NAMES):
        return True
    try:
        return entry.is_dir() and str(uuid.UUID(entry.name)) == entry.name
    except ValueError:
        return False


_SEGMENT_FILES = ("header.bin", "data_level0.bin", "length.bin", "link_lists.bin")


def sweep_deleted_segments(store: Path) -> None:
    """Remove the vector-index folders of collections Chroma deleted: its `delete_collection` drops their rows
    but leaves their folders on disk (chroma-core/chroma#5520), so each `ingest --rebuild` kept another full copy
    of the vectors. A folder goes only when its name is a segment id the database no longer lists and it holds
    nothing but Chroma's index files."""
    import sqlite3
    from contextlib import closing

    try:
        with closing(sqlite3.connect(f"file:{store / 'chroma.sqlite3'}?mode=ro", uri=True)) as db:
            live = {str(row[0]) for row in db.execute("SELECT id FROM segments")}
    except sqlite3.Error:
        return  # not a schema we know: leave everything as it is
    for entry in store.iterdir():
        try:
            named = str(uuid.UUID(entry.name)) == entry.name
        except ValueError:
            continue
        if named and entry.is_dir() and entry.name not in live and all(f.name in _SEGMENT_FILES for f in entry.iterdir()):
            shutil.rmtree(entry, ignore_errors=True)


def reset_local_store(store: Path) -> None:
    """Remove only what the assistant and Chroma wrote in `store`; anything else stays."""
    if not store.exists():
        return
    refuse_foreign(store)
    for entry in store.iterdir():
        if entry.name in _KEEP or entry.name == PENDING or not _written_by_us(entry):
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    _write_marker(store)  # still ours, even when the user's own files share the folder


# -- records ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredPaper:
    """A paper record as kept in the store, with the paths of the files it came from."""

    paper: Paper
    paths: tuple[str, ...]
    content_hash: str


@dataclass(frozen=True)
class StoredMeta:
    """What an ingest compares a file's paper with: the stored record without its abstract and fields."""

    sources: tuple[str, ...]
    paths: tuple[str, ...]
    content_hash: str


def _meta_of(meta: dict[str, Any]) -> StoredMeta:
    return StoredMeta(
        sources=tuple(json.loads(str(meta.get("sources", "[]")))),
        paths=tuple(json.loads(str(meta.get("paths", "[]")))),
        content_hash=str(meta.get("hash", "")),
    )


def _record_to_paper(pid: str, abstract: str, meta: dict[str, Any]) -> StoredPaper:
    kept = _meta_of(meta)
    paper = Paper(
        id=pid,
        title=str(meta.get("title", "")),
        abstract=abstract,
        authors=json.loads(str(meta.get("authors", "[]"))),
        families=json.loads(str(meta.get("families") or "{}")),  # older stores: none
        sources=list(kept.sources),
        url=str(meta.get("url") or "") or None,
        year=int(meta["year"]) if meta.get("year") else None,
        month=int(meta["month"]) if meta.get("month") else None,  # older stores: none
        doi=str(meta.get("doi") or "") or None,
        venue=str(meta.get("venue") or "") or None,
        categories=json.loads(str(meta.get("categories") or "[]")),
        has_title=bool(meta.get("has_title", True)),
        work_type=meta["work_type"] if meta.get("work_type") in get_args(WorkType) else None,  # older stores: none
        key=str(meta.get("key") or "") or None,
        **{name: str(meta.get(name) or "") or None for name in LOCATOR_FIELDS},  # older stores: none
    )
    return StoredPaper(paper=paper, paths=kept.paths, content_hash=kept.content_hash)


def _paper_metadata(paper: Paper, paths: Iterable[str]) -> dict[str, Any]:
    return {
        "title": paper.title,
        "has_title": paper.has_title,
        "authors": json.dumps(paper.authors),
        "families": json.dumps(paper.families),
        "sources": json.dumps(paper.sources),
        "paths": json.dumps(sorted(set(paths))),
        "url": paper.url or "",
        "year": paper.year or 0,
        "month": paper.month or 0,
        "doi": paper.doi or "",
        "venue": paper.venue or "",
        "categories": json.dumps(paper.categories),
        "work_type": paper.work_type or "",
        "key": paper.key or "",
        **{name: getattr(paper, name) or "" for name in LOCATOR_FIELDS},
        "hash": paper.content_hash,
    }


def _pack(vectors: Sequence[Sequence[float]]) -> str:
    """Sentence vectors as float16 bytes in base64: what the sentence matrix keeps (cosine error < 1e-3)."""
    return base64.b64encode(np.asarray(vectors, dtype=np.float16).tobytes()).decode("ascii")


def _set_records(sentences: Mapping[str, Sequence[tuple[str, Sequence[float]]]]) -> dict[str, Any]:
    """Chroma `add`/`upsert` arguments for papers' sentence sets: one record a paper, texts and vectors."""
    ids = list(sentences)
    return {
        "ids": ids,
        "embeddings": [PLACEHOLDER] * len(ids),
        "documents": [json.dumps([text for text, _ in sentences[pid]]) for pid in ids],
        "metadatas": [{"paper_id": pid, "vectors": _pack([v for _, v in sentences[pid]])} for pid in ids],
    }


def _unpack(packed: str, count: int) -> np.ndarray:
    return np.frombuffer(base64.b64decode(packed), dtype=np.float16).reshape(count, -1) if count else np.zeros((0, 0), np.float16)


def _ef_search(collection: Collection) -> int:
    configuration = collection.configuration or {}
    hnsw = configuration.get("hnsw") or {}
    return int(hnsw.get("ef_search") or 0)


def ef_for(vectors: int) -> int:
    """The search depth for a collection of this many vectors (EF_SEARCH above)."""
    return EF_SEARCH if vectors <= EF_SEARCH else EF_LARGE


def _fit_search(collection: Collection, vectors: int) -> None:
    """`collection` searched at the depth for `vectors` vectors (`ef_for`), changed only if it differs."""
    wanted = ef_for(vectors)
    if _ef_search(collection) != wanted:
        collection.modify(configuration={"hnsw": {"ef_search": wanted}})


def _describe(signature: dict[str, str]) -> str:
    if not signature:
        return "unknown settings"
    size, schema = signature.get("chunk_size"), signature.get("schema", "1")
    unit = "word-piece" if schema >= "3" else "token"
    chunks = "window-sized chunks" if size == "window" else f"{size}-{unit} chunks"
    return f"model {signature.get('embed_model')}, {chunks} (overlap {signature.get('chunk_overlap')}, store schema {schema})"


def _precision_hint(found: dict[str, str], wanted: dict[str, str]) -> str:
    """Name the setting that keeps the store when only the embedder's precision differs."""
    built, asked = found.get("embed_model", ""), wanted.get("embed_model", "")
    model = asked.removesuffix(INT8_MARK)
    if built == model and asked != model:
        return " (ASSISTANT_EMBED_PRECISION=fp32)"
    if asked == model and built == model + INT8_MARK:
        return " (ASSISTANT_EMBED_PRECISION=int8)"
    return ""


class Store:
    """The Chroma collections behind one assistant, checked against the settings that built them."""

    def __init__(self, settings: Settings, *, rebuild: bool = False) -> None:
        self.settings = settings
        # With a Chroma server, the folder keeps only this instance's caches and journal.
        self.layout = StoreLayout.at(Path(settings.store_dir))
        self._lock = threading.RLock()
        # A rebuild: the papers the store held, read before they are removed (None: the store was unreadable).
        self.previous: list[StoredPaper] | None = None
        readable = True
        try:
            self.client = _open_client(settings)
        except StoreError:
            readable = False
            if not rebuild or settings.chroma_url:
                raise
            # Unreadable: only now remove the files Chroma and the assistant wrote, then start afresh.
            _forget_client(self.layout.root)
            reset_local_store(self.layout.root)
            self.client = _open_client(settings)
        if rebuild:
            held = self._held_papers() if readable else None
            left = self.pending()  # what a killed rebuild had not embedded again
            if held is not None or left:
                kept = {p.paper.id for p in held or []}
                self.previous = [*(held or []), *(p for p in left if p.paper.id not in kept)]
                self._write_pending(self.previous)  # before anything is removed
            for name in (PAPERS, CHUNKS, SENTENCE_SETS, LEGACY_SENTENCES):
                if name in self._collection_names():
                    self.client.delete_collection(name)
            if not settings.chroma_url:
                shutil.rmtree(self.layout.bm25, ignore_errors=True)
                shutil.rmtree(self.layout.sentence_matrix, ignore_errors=True)
                sweep_deleted_segments(self.layout.root)
        self._migrate_sentences()
        self.papers = self._collection(PAPERS, signed=True)
        self.chunks = self._collection(CHUNKS)
        self.sentence_sets = self._collection(SENTENCE_SETS)
        # Searched collections at the depth for their size. A Chroma count took 0.2-0.7 s at 100k papers, so
        # the chunks are counted only when the papers do not already decide it (a paper has a chunk at least).
        papers = self.papers.count()
        _fit_search(self.papers, papers)
        _fit_search(self.chunks, papers if papers > EF_SEARCH else self.chunks.count())

    def reopened(self) -> Store:
        """This store opened afresh, to read what another process wrote since it was opened. Chroma's local
        client keeps each collection's vector index in memory as it was loaded: vectors another process added
        are missing from its searches, and reading them failed ("Error finding id"; the page's similar papers
        under an answer citing a new paper). Forgotten, the directory's cached system is loaded again from
        disk; this handle is left open, not closed, for a question another thread is answering with it (it is freed
        with the last reference). A Chroma server needs none of it."""
        if not self.settings.chroma_url:
            _forget_client(self.layout.root)
        return Store(self.settings)

    def _held_papers(self) -> list[StoredPaper] | None:
        """Every paper record, whatever settings built it: a rebuild embeds them again, so papers added from
        files that are gone since (a page upload's temporary copy) are not lost. None: they cannot be read."""
        if PAPERS not in self._collection_names():
            return []
        try:
            self.papers = self.client.get_collection(PAPERS, embedding_function=None)
            return [_record_to_paper(pid, doc, meta) for pid, doc, meta in self._records(["documents", "metadatas"])]
        except Exception:
            return None

    def signature(self) -> dict[str, str]:
        """What built the vectors (the settings' part and the store schema); another must not be mixed in."""
        return {**self.settings.index_signature(), "schema": SCHEMA}

    @contextmanager
    def writing(self) -> Iterator[Store]:
        """Held by a writer for the whole of an ingest, so two in one process never interleave."""
        with self._lock:
            yield self

    def _collection_names(self) -> set[str]:
        return {c if isinstance(c, str) else c.name for c in self.client.list_collections()}

    def _collection(self, name: str, signed: bool = False) -> Collection:
        signature = self.signature()
        try:
            if name in self._collection_names():
                collection = self.client.get_collection(name, embedding_function=None)
            else:
                metadata: dict[str, Any] = {"hnsw:space": "cosine", "hnsw:search_ef": EF_SEARCH}
                if signed:
                    metadata.update(signature)
                collection = self.client.create_collection(name, metadata=metadata, embedding_function=None)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"the store's {name!r} collection is unreadable ({type(exc).__name__}); {rebuild_hint(self.settings)}") from None
        if signed:
            found = {k: str(v) for k, v in (collection.metadata or {}).items() if k in signature}
            if found != signature:
                raise StoreError(
                    f"the store was built with {_describe(found)} but the settings ask for {_describe(signature)}; "
                    f"{rebuild_hint(self.settings)}, or restore the settings that built it{_precision_hint(found, signature)}"
                )
        return collection

    # -- vectors -----------------------------------------------------------------------------------------
    def vector_store(self, name: str) -> ChromaVectorStore:
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self.chunks)

    def size_search(self, adding: int) -> None:
        """Before an ingest writes `adding` papers (a chunk each at least): each searched collection's depth
        for the size it is about to reach (`ef_for`). Chroma reads the setting when a process first loads a
        collection's index, so set here it already holds for the searches right after this ingest (the
        bench's, a first `assistant ask` that ingests the seeds); set at open, only for the next process."""
        for collection in (self.chunks, self.papers):
            _fit_search(collection, collection.count() + adding)

    def search_chunks(
        self, vector: Sequence[float], depth: int, allowed: Set[str] | None = None, among: int | None = None
    ) -> list[tuple[str, float, str]]:
        """(paper id, cosine, chunk id) of the `depth` nearest chunks, nearest first. Straight from Chroma and
        without texts: a chunk id is "<paper id>:c<n>" (index.Indexer), and at 74 papers the query took 1.2 ms
        for ids and distances, 3.2 ms with texts and metadata, 4.8 ms through LlamaIndex's retriever (which
        rebuilds a node from each hit's stored JSON). The few texts shown are read by `chunk_texts`.

        `allowed`: only chunks of these papers (of `among` papers in all), so the nearest are of those papers."""
        if allowed is None:
            return self._nearest(vector, depth)
        if not allowed:
            return []
        share = len(allowed) / max(among or self.count(), 1)
        if share >= WIDE_FILTER:
            total = self.chunks.count()
            reach = min(math.ceil(2 * depth / share), total)
            kept = [hit for hit in self._nearest(vector, reach) if hit[0] in allowed]
            if len(kept) >= depth or reach >= total:
                return kept[:depth]
        ids = sorted(allowed)
        hits = [
            hit
            for start in range(0, len(ids), IN_BATCH)
            for hit in self._nearest(vector, depth, {"paper_id": {"$in": ids[start : start + IN_BATCH]}})
        ]
        return sorted(hits, key=lambda hit: (-hit[1], hit[2]))[:depth]

    def _nearest(self, vector: Sequence[float], n: int, where: dict[str, Any] | None = None) -> list[tuple[str, float, str]]:
        found = self.chunks.query(query_embeddings=[list(vector)], n_results=n, include=["distances"], where=where)  # type: ignore[arg-type]
        return [
            (cid.rsplit(":", 1)[0], 1.0 - float(distance), cid)
            for cid, distance in zip(found["ids"][0], found["distances"][0])  # type: ignore[index]
        ]

    def similar_papers(self, paper_ids: Sequence[str], k: int) -> dict[str, list[tuple[str, float]]]:
        """For each of `paper_ids` the store holds: (paper id, cosine) of the k papers whose vectors (the mean
        of their chunks') are nearest its own, nearest first. One read and one search for all of them (the
        page asks for every cited paper's neighbours at once)."""
        if not paper_ids:  # an abstention cites nothing; Chroma refuses a read of no ids
            return {}
        found = self.papers.get(ids=list(dict.fromkeys(paper_ids)), include=["embeddings"])
        embeddings = found.get("embeddings")
        if not found["ids"] or embeddings is None or len(embeddings) == 0:
            return {}
        count = self.papers.count()
        near = self.papers.query(query_embeddings=list(embeddings), n_results=min(k + 1, count), include=["distances"])
        out: dict[str, list[tuple[str, float]]] = {}
        for pid, ids, distances in zip(found["ids"], near["ids"], near["distances"] or []):
            out[pid] = [(other, 1.0 - float(d)) for other, d in zip(ids, distances) if other != pid][:k]
        return out

    def chunk_texts(self, chunk_ids: Sequence[str]) -> dict[str, str]:
        if not chunk_ids:
            return {}
        got = self.chunks.get(ids=list(chunk_ids), include=["documents"])
        return {cid: doc or "" for cid, doc in zip(got["ids"], got["documents"] or [])}

    def add_nodes(self, chunks: Sequence[TextNode], sentences: Mapping[str, Sequence[tuple[str, Sequence[float]]]]) -> None:
        """Chunk vectors, and each paper's sentences (in abstract order, with their vectors) as one record."""
        self.vector_store(CHUNKS).add(list(chunks))
        ids = [pid for pid, rows in sentences.items() if rows]
        if ids:  # as for chunks: only changed papers had a set, deleted first; orphans are the journal's
            self.sentence_sets.add(**_set_records({pid: sentences[pid] for pid in ids}))

    def delete_vectors(self, paper_ids: Sequence[str]) -> None:
        """Every chunk and sentence of these papers (a scan by metadata filter: skip it when you can)."""
        if not paper_ids:
            return
        where: dict[str, Any] = {"paper_id": {"$in": list(paper_ids)}}
        self.chunks.delete(where=where)
        self.sentence_sets.delete(ids=list(paper_ids))

    def sentence_records(self) -> Iterator[tuple[str, int, str, Sequence[float]]]:
        """(paper id, position, text, vector) of every stored sentence, read a page of papers at a time."""
        offset = 0
        while True:
            got = self.sentence_sets.get(include=["documents", "metadatas"], limit=PAGE, offset=offset)
            for pid, doc, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or []):
                texts = json.loads(doc or "[]")
                vectors = _unpack(str((meta or {})["vectors"]), len(texts))
                for position, (text, vector) in enumerate(zip(texts, vectors)):
                    yield pid, position, text, vector
            offset += len(got["ids"])
            if len(got["ids"]) < PAGE:
                return

    def _migrate_sentences(self) -> None:
        """A schema-3 store: its per-sentence records become per-paper sets (no re-embedding), then the
        signature says schema 4. Each step can be repeated, so a migration killed halfway resumes."""
        names = self._collection_names()
        if LEGACY_SENTENCES not in names or PAPERS not in names:
            return
        papers = self.client.get_collection(PAPERS, embedding_function=None)
        if str((papers.metadata or {}).get("schema")) != "3":
            return
        legacy = self.client.get_collection(LEGACY_SENTENCES, embedding_function=None)
        sets = self._collection(SENTENCE_SETS)
        by_paper: dict[str, list[tuple[int, str, Sequence[float]]]] = {}
        offset = 0
        while True:
            got = legacy.get(include=["documents", "metadatas", "embeddings"], limit=PAGE, offset=offset)
            vectors = got["embeddings"] if got["embeddings"] is not None else []
            for doc, meta, vec in zip(got["documents"] or [], got["metadatas"] or [], vectors):
                by_paper.setdefault(str(meta["paper_id"]), []).append((int(str(meta["position"])), doc or "", vec))
            offset += len(got["ids"])
            if len(got["ids"]) < PAGE:
                break
        ids = sorted(by_paper)
        for start in range(0, len(ids), PAGE):
            chunk = ids[start : start + PAGE]
            rows = {pid: [(t, v) for _, t, v in sorted(by_paper[pid], key=lambda r: r[0])] for pid in chunk}
            sets.upsert(**_set_records(rows))
        kept = {k: v for k, v in (papers.metadata or {}).items() if not k.startswith("hnsw:")}
        papers.modify(metadata={**kept, "schema": SCHEMA})
        self.client.delete_collection(LEGACY_SENTENCES)

    # -- paper records -----------------------------------------------------------------------------------
    def count(self) -> int:
        return self.papers.count()

    def stored(self, limit: int | None = None) -> dict[str, StoredPaper]:
        """Every paper record (or the first `limit`), by id."""
        return {sp.paper.id: sp for sp in self.iter_stored(limit)}

    def iter_stored(self, limit: int | None = None) -> Iterator[StoredPaper]:
        """Every paper record (or the first `limit`) in store order, read a page at a time, so a reader that
        keeps none holds one page (at 100k papers the whole set is ~1 GB of Python objects)."""
        for pid, doc, meta in self._records(["documents", "metadatas"], limit):
            yield _record_to_paper(pid, doc, meta)

    def iter_headers(self) -> Iterator[Header]:
        """Every paper's title, authors, year, categories and venue in store order, a page at a time, without the
        abstracts (what filters and listings read)."""
        for pid, _, meta in self._records(["metadatas"]):
            yield Header(
                id=pid,
                title=str(meta.get("title", "")),
                authors=tuple(json.loads(str(meta.get("authors", "[]")))),
                year=int(meta["year"]) if meta.get("year") else None,
                categories=tuple(json.loads(str(meta.get("categories") or "[]"))),
                venue=str(meta.get("venue") or "") or None,
            )

    def stored_meta(self) -> dict[str, StoredMeta]:
        """Every paper's sources, file paths and content hash, by id, read a page at a time without the
        abstracts: what an ingest diffs against (all records whole were ~1 GB at 100k papers)."""
        return {pid: _meta_of(meta) for pid, _, meta in self._records(["metadatas"])}

    def _records(self, include: list[str], limit: int | None = None) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(id, document or "", metadata) of the paper records in store order, `PAGE` at a time."""
        seen = 0
        while True:
            page = PAGE if limit is None else min(PAGE, limit - seen)
            result = self.papers.get(include=include, limit=page, offset=seen)  # type: ignore[arg-type]
            documents = result["documents"] or [""] * len(result["ids"])
            for pid, doc, meta in zip(result["ids"], documents, result["metadatas"] or []):
                yield pid, doc or "", dict(meta or {})
            seen += len(result["ids"])
            if len(result["ids"]) < page or seen == limit:
                return

    def papers_by_id(self, ids: Sequence[str]) -> dict[str, Paper]:
        """The records of `ids` that the store holds (a few hundred at a time at most)."""
        result = self.papers.get(ids=list(ids), include=["documents", "metadatas"])
        return {
            pid: _record_to_paper(pid, doc or "", dict(meta or {})).paper
            for pid, doc, meta in zip(result["ids"], result["documents"] or [], result["metadatas"] or [])
        }

    def put_papers(self, papers: Sequence[Paper], paths_of: dict[str, list[str]], vectors: Sequence[list[float]]) -> None:
        """Write the records of papers whose vectors are all in: from now on they count as ingested."""
        embeddings: list[Sequence[float]] = list(vectors)
        self.papers.upsert(
            ids=[p.id for p in papers],
            documents=[p.abstract for p in papers],
            metadatas=[_paper_metadata(p, paths_of.get(p.id, [])) for p in papers],
            embeddings=embeddings,
        )

    def relabel(self, papers: Sequence[Paper], paths_of: dict[str, list[str]]) -> None:
        """New sources and paths for papers whose content (and so whose vectors) did not change."""
        if papers:
            self.papers.update(ids=[p.id for p in papers], metadatas=[_paper_metadata(p, paths_of[p.id]) for p in papers])

    def remove_papers(self, ids: Sequence[str]) -> None:
        """Vectors first, then the records."""
        self.delete_vectors(ids)
        if ids:
            self.papers.delete(ids=list(ids))

    def saved_fingerprint(self) -> str | None:
        """The corpus fingerprint the last finished ingest saved; None while one runs or after one was killed."""
        metadata = self.client.get_collection(PAPERS, embedding_function=None).metadata or {}  # not the cached copy
        return str(metadata.get(FINGERPRINT) or "") or None

    def save_fingerprint(self, value: str) -> None:
        """Record the corpus fingerprint ("" = an ingest is changing the store)."""
        current = self.client.get_collection(PAPERS, embedding_function=None).metadata or {}
        # Chroma refuses `hnsw:` keys in a modify (the space is kept in the collection's configuration).
        kept = {k: v for k, v in current.items() if not k.startswith("hnsw:") and k != FINGERPRINT}
        self.papers.modify(metadata={**kept, FINGERPRINT: value})

    # -- the ingest journal: the papers being written, so a killed ingest leaves no orphan vectors ----------
    def pending(self) -> list[StoredPaper]:
        """The records a killed rebuild had yet to embed again (none after a rebuild that finished)."""
        try:
            with open(self.layout.pending, encoding="utf-8") as lines:
                rows = [json.loads(line) for line in lines if line.strip()]
            return [StoredPaper(Paper.model_validate(r["paper"]), tuple(r["paths"]), str(r["hash"])) for r in rows]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StoreError(
                f"{self.layout.pending} (the papers a rebuild had yet to embed) is unreadable ({type(exc).__name__}); "
                "move it away and ingest the files you had added again"
            ) from None

    def _write_pending(self, papers: Sequence[StoredPaper]) -> None:
        self.layout.root.mkdir(parents=True, exist_ok=True)
        with replacing(self.layout.pending) as tmp, open(tmp, "w", encoding="utf-8") as out:
            for p in papers:
                out.write(json.dumps({"paper": p.paper.model_dump(mode="json"), "paths": list(p.paths), "hash": p.content_hash}) + "\n")

    def clear_pending(self) -> None:
        self.layout.pending.unlink(missing_ok=True)

    def write_journal(self, paper_ids: Sequence[str]) -> None:
        self.layout.root.mkdir(parents=True, exist_ok=True)
        write_atomic(self.layout.journal, json.dumps(list(paper_ids)))

    def clear_journal(self) -> None:
        self.layout.journal.unlink(missing_ok=True)

    def recover_journal(self) -> None:
        """Delete the vectors of journalled papers whose record was never written, then clear the journal."""
        path = self.layout.journal
        if not path.exists():
            return
        try:
            ids = [str(i) for i in json.loads(path.read_text())]
        except (ValueError, OSError):
            ids = []
        present = set(self.papers.get(ids=ids, include=[])["ids"]) if ids else set()
        self.delete_vectors([i for i in ids if i not in present])
        self.clear_journal()
