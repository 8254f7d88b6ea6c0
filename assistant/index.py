"""Chroma + LlamaIndex ingestion: chunking, embedding, incremental and crash-safe upserts.

Three collections: `chunks` and `sentences` hold LlamaIndex nodes (through ChromaVectorStore),
`papers` holds one record per paper and is written last, so a paper only counts as ingested once
all its vectors are in. The `papers` collection's metadata records what built the store.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Settings
from .errors import ConfigError, StoreError
from .text import split_sentences
from .types import IngestReport, Paper, ParseIssue

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore

PAPERS, CHUNKS, SENTENCES = "papers", "chunks", "sentences"
# Records read per Chroma call: one `get` of 100k records fails in Chroma with "too many SQL variables".
PAGE = 5_000
# Key of the `papers` collection metadata holding the corpus fingerprint: set by each finished ingest,
# emptied while one runs, so a start can trust it without reading every record.
FINGERPRINT = "corpus_fingerprint"
MARKER = "assistant-store.json"
JOURNAL = "ingest-journal.json"
# Caches kept beside the store (per instance with a Chroma server), written by retrieve.py and answer.py.
BM25_DIR = "bm25"
TERM_DF = "term-df.json"
# Everything the assistant writes in a store folder; each but the marker is first written as a .tmp.
_OURS = {MARKER} | {n for name in (JOURNAL, BM25_DIR, TERM_DF) for n in (name, Path(name).with_suffix(".tmp").name)}
_KEEP = {"README.md", ".gitkeep", ".gitignore"}
Progress = Callable[[int, int], None]


def corpus_fingerprint(hashes: dict[str, str]) -> str:
    """Of paper id -> content hash: changes whenever any paper's indexed content changes."""
    digest = hashlib.sha256()
    for pid in sorted(hashes):
        digest.update(f"{pid}:{hashes[pid]};".encode())
    return digest.hexdigest()[:16]


def rebuild_hint(settings: Settings) -> str:
    return f"rebuild it with `assistant ingest --rebuild` (store: {settings.chroma_url or settings.store_dir})"


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
    _refuse_foreign(store)
    store.mkdir(parents=True, exist_ok=True)
    try:
        client = chromadb.PersistentClient(path=str(store), settings=chroma_settings)
        client.list_collections()
    except Exception as exc:
        raise StoreError(f"the store at {store} is unreadable ({type(exc).__name__}); {rebuild_hint(settings)}") from None
    (store / MARKER).write_text(json.dumps({"kind": "abstract-assistant store"}) + "\n")
    return client


def _refuse_foreign(store: Path) -> None:
    """Never write Chroma files into a directory that holds someone else's data."""
    if not store.exists():
        return
    if not store.is_dir():
        raise StoreError(f"ASSISTANT_STORE_DIR={store} is a file, not a directory; point it at a directory")
    names = {p.name for p in store.iterdir()} - _KEEP
    if names and MARKER not in names and "chroma.sqlite3" not in names:
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
    if entry.name.startswith("chroma.sqlite3") or entry.name in _OURS:
        return True
    try:
        return entry.is_dir() and str(uuid.UUID(entry.name)) == entry.name
    except ValueError:
        return False


def reset_local_store(store: Path) -> None:
    """Remove only what the assistant and Chroma wrote in `store`; anything else stays."""
    if not store.exists():
        return
    _refuse_foreign(store)
    for entry in store.iterdir():
        if entry.name in _KEEP or not _written_by_us(entry):
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    # Still ours, even when the user's own files share the folder.
    (store / MARKER).write_text(json.dumps({"kind": "abstract-assistant store"}) + "\n")


@dataclass(frozen=True)
class StoredPaper:
    """A paper record as kept in the store, with the paths of the files it came from."""

    paper: Paper
    paths: tuple[str, ...]
    content_hash: str


class Store:
    """The Chroma collections behind one assistant, checked against the settings that built them."""

    def __init__(self, settings: Settings, *, rebuild: bool = False) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self._retrievers: dict[tuple[str, int, int], Any] = {}
        self._retrievers_lock = threading.Lock()
        try:
            self.client = _open_client(settings)
        except StoreError:
            if not rebuild or settings.chroma_url:
                raise
            # Unreadable: only now remove the files Chroma and the assistant wrote, then start afresh.
            _forget_client(Path(settings.store_dir))
            reset_local_store(Path(settings.store_dir))
            self.client = _open_client(settings)
        if rebuild:
            for name in (PAPERS, CHUNKS, SENTENCES):
                if name in self._collection_names():
                    self.client.delete_collection(name)
            if not settings.chroma_url:
                shutil.rmtree(Path(settings.store_dir) / BM25_DIR, ignore_errors=True)
        self.papers = self._collection(PAPERS, signed=True)
        self.chunks = self._collection(CHUNKS)
        self.sentences = self._collection(SENTENCES)

    def _collection_names(self) -> set[str]:
        return {c if isinstance(c, str) else c.name for c in self.client.list_collections()}

    def _collection(self, name: str, signed: bool = False) -> Collection:
        signature = self.settings.index_signature()
        try:
            if name in self._collection_names():
                collection = self.client.get_collection(name, embedding_function=None)
            else:
                metadata: dict[str, Any] = {"hnsw:space": "cosine"}
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
                    f"{rebuild_hint(self.settings)}, or restore the settings that built it"
                )
        return collection

    def vector_store(self, name: str) -> ChromaVectorStore:
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self.chunks if name == CHUNKS else self.sentences)

    def retriever(self, name: str, depth: int, embedder: BaseEmbedding) -> Any:
        """A LlamaIndex retriever over the chunk or sentence vectors, built once (4 ms a question otherwise)."""
        from llama_index.core import VectorStoreIndex

        key = (name, depth, id(embedder))
        with self._retrievers_lock:
            if key not in self._retrievers:
                index = VectorStoreIndex.from_vector_store(self.vector_store(name), embed_model=embedder)
                self._retrievers[key] = (embedder, index.as_retriever(similarity_top_k=depth))  # keeps id() valid
            return self._retrievers[key][1]

    def count(self) -> int:
        return self.papers.count()

    def stored(self, limit: int | None = None) -> dict[str, StoredPaper]:
        """Every paper record (or the first `limit`), by id, read a page at a time."""
        out: dict[str, StoredPaper] = {}
        while True:
            page = PAGE if limit is None else min(PAGE, limit - len(out))
            result = self.papers.get(include=["documents", "metadatas"], limit=page, offset=len(out))
            for pid, doc, meta in zip(result["ids"], result["documents"] or [], result["metadatas"] or []):
                out[pid] = _record_to_paper(pid, doc or "", dict(meta or {}))
            if len(result["ids"]) < page or len(out) == limit:
                return out

    def papers_by_id(self, ids: Sequence[str]) -> dict[str, Paper]:
        """The records of `ids` that the store holds (at most a few dozen at a time)."""
        result = self.papers.get(ids=list(ids), include=["documents", "metadatas"])
        return {
            pid: _record_to_paper(pid, doc or "", dict(meta or {})).paper
            for pid, doc, meta in zip(result["ids"], result["documents"] or [], result["metadatas"] or [])
        }

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

    def sentences_of(self, paper_ids: Sequence[str]) -> dict[str, list[tuple[str, list[float]]]]:
        """Each paper's sentences with their stored vectors, in abstract order."""
        if not paper_ids:
            return {}
        got = self.sentences.get(
            where={"paper_id": {"$in": list(paper_ids)}}, include=["documents", "metadatas", "embeddings"]
        )
        rows: dict[str, list[tuple[int, str, list[float]]]] = {}
        for doc, meta, vec in zip(got["documents"] or [], got["metadatas"] or [], got["embeddings"]):
            rows.setdefault(str(meta["paper_id"]), []).append((int(meta["position"]), doc or "", list(vec)))
        return {pid: [(text, vec) for _, text, vec in sorted(items)] for pid, items in rows.items()}


def _describe(signature: dict[str, str]) -> str:
    if not signature:
        return "unknown settings"
    size, schema = signature.get("chunk_size"), signature.get("schema", "1")
    unit = "word-piece" if schema >= "3" else "token"
    chunks = "window-sized chunks" if size == "window" else f"{size}-{unit} chunks"
    return f"model {signature.get('embed_model')}, {chunks} (overlap {signature.get('chunk_overlap')}, store schema {schema})"


def _record_to_paper(pid: str, abstract: str, meta: dict[str, Any]) -> StoredPaper:
    paper = Paper(
        id=pid,
        title=str(meta.get("title", "")),
        abstract=abstract,
        authors=json.loads(str(meta.get("authors", "[]"))),
        sources=json.loads(str(meta.get("sources", "[]"))),
        url=str(meta.get("url")) or None,
        year=int(meta["year"]) if meta.get("year") else None,
        has_title=bool(meta.get("has_title", True)),
    )
    return StoredPaper(paper=paper, paths=tuple(json.loads(str(meta.get("paths", "[]")))), content_hash=str(meta.get("hash", "")))


def _paper_metadata(paper: Paper, paths: Iterable[str]) -> dict[str, Any]:
    return {
        "title": paper.title,
        "has_title": paper.has_title,
        "authors": json.dumps(paper.authors),
        "sources": json.dumps(paper.sources),
        "paths": json.dumps(sorted(set(paths))),
        "url": paper.url or "",
        "year": paper.year or 0,
        "hash": paper.content_hash,
    }


class Indexer:
    """Embeds papers into a Store: new ones added, changed ones replaced, removed ones deleted."""

    def __init__(self, store: Store, embedder: BaseEmbedding, settings: Settings) -> None:
        from llama_index.core.node_parser import SentenceSplitter

        from .providers import SPECIAL_TOKENS, embed_window, word_pieces

        self.store = store
        self.embedder = embedder
        self.settings = settings
        # Chunks are counted in the model's own word pieces and sized to its window: most abstracts are
        # read in one pass, as the raw model would read them, and no sentence is cut off by truncation.
        window = embed_window(settings.embed_model) - SPECIAL_TOKENS
        size = settings.chunk_size or window
        if size > window:
            raise ConfigError(
                f"ASSISTANT_CHUNK_SIZE={size} is longer than the embedding model's window of {window} word pieces, "
                "which would cut chunks off; lower it or leave it unset"
            )
        if settings.chunk_overlap >= size // 2:
            raise ConfigError(f"ASSISTANT_CHUNK_OVERLAP={settings.chunk_overlap} must be under half the chunk size ({size})")
        self.chunk_size = size
        self._pieces = word_pieces(settings.embed_model)
        self.splitter = SentenceSplitter(chunk_size=size, chunk_overlap=settings.chunk_overlap, tokenizer=self._pieces)
        self._half = SentenceSplitter(chunk_size=size // 2, chunk_overlap=settings.chunk_overlap, tokenizer=self._pieces)

    def chunk_texts(self, paper: Paper) -> list[str]:
        """The abstract in chunks that fit the model's window together with their title prefix."""
        prefix = self.embed_text(paper, "")
        if self.chunk_size - len(self._pieces(prefix)) >= self.chunk_size // 2:
            chunks = self.splitter.split_text_metadata_aware(paper.abstract, prefix)
        else:  # a title longer than half the window: the model reads its start and the chunk's
            chunks = self._half.split_text(paper.abstract)
        return [c for c in chunks if c.strip()]

    @staticmethod
    def embed_text(paper: Paper, chunk: str) -> str:
        """What the model reads for a chunk: the title gives every chunk its paper's topic."""
        return f"{paper.title}. {chunk}" if paper.has_title else chunk

    def sync(
        self,
        papers: Sequence[Paper],
        paths_of: dict[str, list[str]],
        scope: Sequence[Path],
        issues: Sequence[ParseIssue] = (),
        progress: Progress | None = None,
    ) -> IngestReport:
        """Bring the store in line with `papers`, the complete content of the files in `scope`."""
        with self.store._lock:
            self._recover_journal()
            stored = self.store.stored()
            incoming: dict[str, Paper] = {}
            for paper in papers:
                previous = stored.get(paper.id)
                outside = [p for p in (previous.paths if previous else ()) if not _within(p, scope)]
                keep_sources = [s for s, p in zip(previous.paper.sources, previous.paths) if p in outside] if previous else []
                incoming[paper.id] = paper.model_copy(
                    update={"sources": list(dict.fromkeys(keep_sources + paper.sources))}
                )
                paths_of[paper.id] = sorted(set(outside) | set(paths_of.get(paper.id, [])))
            new = [p for pid, p in incoming.items() if pid not in stored]
            changed = [p for pid, p in incoming.items() if pid in stored and stored[pid].content_hash != p.content_hash]
            relabelled = [
                p
                for pid, p in incoming.items()
                if pid in stored
                and stored[pid].content_hash == p.content_hash
                and (stored[pid].paper.sources != p.sources or list(stored[pid].paths) != paths_of[pid])
            ]
            removed = [
                pid for pid, sp in stored.items() if pid not in incoming and sp.paths and all(_within(p, scope) for p in sp.paths)
            ]
            if new or changed or removed:
                self.store.save_fingerprint("")
            chunks = self._embed_all(new + changed, {p.id for p in changed}, paths_of, progress)
            if relabelled:
                self.store.papers.update(
                    ids=[p.id for p in relabelled], metadatas=[_paper_metadata(p, paths_of[p.id]) for p in relabelled]
                )
            self._delete(removed)
            if removed:
                self.store.papers.delete(ids=removed)
            gone = set(removed)
            hashes = {pid: sp.paper.content_hash for pid, sp in stored.items() if pid not in gone}
            hashes.update({pid: p.content_hash for pid, p in incoming.items()})
            fingerprint = corpus_fingerprint(hashes)
            if self.store.saved_fingerprint() != fingerprint:
                self.store.save_fingerprint(fingerprint)
            return IngestReport(
                new=len(new),
                updated=len(changed),
                unchanged=len(incoming) - len(new) - len(changed),
                removed=len(removed),
                skipped=len(issues),
                chunks_embedded=chunks,
                issues=list(issues),
            )

    def _embed_all(
        self, todo: list[Paper], replacing: set[str], paths_of: dict[str, list[str]], progress: Progress | None
    ) -> int:
        # Enough texts per group that length-sorted model batches pad little (benchmarks/RESULTS.md).
        batch = self.settings.ingest_batch
        total = 0
        for start in range(0, len(todo), batch):
            group = todo[start : start + batch]
            total += self._embed_group(group, [p.id for p in group if p.id in replacing], paths_of)
            if progress:
                progress(min(start + batch, len(todo)), len(todo))
        return total

    def _embed_group(self, group: list[Paper], replacing: list[str], paths_of: dict[str, list[str]]) -> int:
        from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

        plan, vectors = self._vectors(group)
        nodes: dict[str, list[TextNode]] = {"chunk": [], "sentence": []}
        sums: dict[str, list[float]] = {}
        for (paper, kind, position, text), vector in zip(plan, vectors):
            node = TextNode(
                id_=f"{paper.id}:{kind[0]}{position}",
                text=text,
                embedding=vector,
                metadata={"paper_id": paper.id, "title": paper.title, "position": position, "kind": kind},
                excluded_embed_metadata_keys=["paper_id", "position", "kind"],
                excluded_llm_metadata_keys=["paper_id", "position", "kind"],
            )
            node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=paper.id)
            nodes[kind].append(node)
            if kind == "chunk":
                acc = sums.setdefault(paper.id, [0.0] * len(vector))
                sums[paper.id] = [a + b for a, b in zip(acc, vector)]
        ids = [p.id for p in group]
        self._write_journal(ids)
        # Only changed papers have old vectors: a new one's could only be orphans of a killed ingest,
        # which _recover_journal has removed. Deleting by metadata filter scans, so skip it when possible.
        self._delete(replacing)
        self.store.vector_store(CHUNKS).add(nodes["chunk"])
        self.store.vector_store(SENTENCES).add(nodes["sentence"])
        self.store.papers.upsert(
            ids=ids,
            documents=[p.abstract for p in group],
            metadatas=[_paper_metadata(p, paths_of.get(p.id, [])) for p in group],
            embeddings=[_unit(sums[p.id]) for p in group],
        )
        self._clear_journal()
        return len(nodes["chunk"])

    def _vectors(self, group: list[Paper]) -> tuple[list[tuple[Paper, str, int, str]], list[list[float]]]:
        """(paper, kind, position, text) of every chunk and sentence of `group`, and its vector.

        With an embedder that pools spans (the default), a sentence's vector comes from the forward
        pass of the chunk holding it, so each word piece is read about once instead of twice; other
        sentences (and other embedders) are embedded on their own."""
        plan: list[tuple[Paper, str, int, str]] = []  # paper, kind, position, node text
        chunk_texts: list[str] = []
        spans: list[list[tuple[int, int]]] = []
        pooled_at: dict[int, tuple[int, int]] = {}  # plan index -> (chunk, span) that holds the sentence
        pools = hasattr(self.embedder, "embed_with_spans")
        for paper in group:
            first_chunk = len(chunk_texts)
            for i, chunk in enumerate(self.chunk_texts(paper)):
                plan.append((paper, "chunk", i, chunk))
                chunk_texts.append(self.embed_text(paper, chunk))
                spans.append([])
            for i, sentence in enumerate(split_sentences(paper.abstract)):
                for c in range(first_chunk, len(chunk_texts)) if pools else ():
                    at = chunk_texts[c].find(sentence)
                    if at >= 0:
                        pooled_at[len(plan)] = (c, len(spans[c]))
                        spans[c].append((at, at + len(sentence)))
                        break
                plan.append((paper, "sentence", i, sentence))
        if pools:
            embedded = self.embedder.embed_with_spans(chunk_texts, spans)  # type: ignore[attr-defined]
            chunk_vectors = [vector for vector, _ in embedded]
            span_vectors = [parts for _, parts in embedded]
        else:
            chunk_vectors, span_vectors = self._embed_sorted(chunk_texts), []
        vectors: list[list[float] | None] = []
        alone: list[int] = []
        chunks_seen = 0
        for n, (_, kind, _, _) in enumerate(plan):
            if kind == "chunk":
                vectors.append(chunk_vectors[chunks_seen])
                chunks_seen += 1
                continue
            c, k = pooled_at.get(n, (-1, -1))
            vectors.append(span_vectors[c][k] if c >= 0 else None)
            if vectors[-1] is None:
                alone.append(n)
        for n, vector in zip(alone, self._embed_sorted([plan[n][3] for n in alone])):
            vectors[n] = vector
        done = [v for v in vectors if v is not None]
        assert len(done) == len(plan), "every chunk and sentence has a vector"
        return plan, done

    def _embed_sorted(self, texts: list[str]) -> list[list[float]]:
        # LlamaIndex cuts the list into model batches as given; sorted, a batch of short sentences is
        # not padded to the length of a chunk (embedding 1.65x faster on the seeds; benchmarks/RESULTS.md).
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: list[list[float]] = [[] for _ in texts]
        for i, vector in zip(order, self.embedder.get_text_embedding_batch([texts[i] for i in order])):
            vectors[i] = vector
        return vectors

    def _delete(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        where = {"paper_id": {"$in": list(ids)}}
        self.store.chunks.delete(where=where)
        self.store.sentences.delete(where=where)

    # The journal names the papers being written, so a killed ingest leaves no orphan vectors.
    def _journal_path(self) -> Path:
        return Path(self.settings.store_dir) / JOURNAL

    def _write_journal(self, ids: list[str]) -> None:
        path = self._journal_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(ids))
        tmp.replace(path)

    def _clear_journal(self) -> None:
        self._journal_path().unlink(missing_ok=True)

    def _recover_journal(self) -> None:
        path = self._journal_path()
        if not path.exists():
            return
        try:
            ids = [str(i) for i in json.loads(path.read_text())]
        except (ValueError, OSError):
            ids = []
        present = set(self.store.papers.get(ids=ids, include=[])["ids"]) if ids else set()
        self._delete([i for i in ids if i not in present])
        self._clear_journal()


def _within(path: str, scope: Sequence[Path]) -> bool:
    """Whether a stored source path was re-read by this ingest (a scoped file or under a scoped folder)."""
    p = Path(path)
    for s in scope:
        if p == s or s in p.parents:
            return True
    return False


def _unit(vector: list[float]) -> list[float]:
    norm = sum(v * v for v in vector) ** 0.5 or 1.0
    return [v / norm for v in vector]
