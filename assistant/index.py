"""Ingestion: papers -> chunks and sentences -> vectors, written to the Store incrementally and crash-safely.

New papers are added, changed ones replaced and removed ones deleted; the store's journal names the
papers being written, so a killed ingest leaves no orphan vectors (store.py owns the files and records).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .config import Settings
from .corpus import combined
from .errors import ConfigError
from .store import Store, corpus_fingerprint
from .text import split_sentences
from .types import IngestReport, Paper, ParseIssue

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

Progress = Callable[[int, int], None]


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
        with self.store.writing():
            self.store.recover_journal()
            stored = self.store.stored_meta()
            incoming: dict[str, Paper] = {}
            shared: list[str] = []  # papers another file outside this ingest's scope holds too
            for paper in papers:
                previous = stored.get(paper.id)
                keep_sources, outside = outside_scope(previous.sources, previous.paths, scope) if previous else ([], [])
                # A copy only when sources from outside this ingest's scope are kept: at 100k papers a copy
                # of every one was 0.5 GB of the ingest's peak.
                incoming[paper.id] = (
                    paper.model_copy(update={"sources": list(dict.fromkeys(keep_sources + paper.sources))})
                    if keep_sources
                    else paper
                )
                shared += [paper.id] if keep_sources else []
                paths_of[paper.id] = sorted(set(outside) | set(paths_of.get(paper.id, [])))
            for start in range(0, len(shared), 500):  # what each file says of a paper, combined (corpus.combined)
                for pid, held in self.store.papers_by_id(shared[start : start + 500]).items():
                    incoming[pid] = combined(incoming[pid], held)
            new = [p for pid, p in incoming.items() if pid not in stored]
            changed = [p for pid, p in incoming.items() if pid in stored and stored[pid].content_hash != p.content_hash]
            # The model reads a paper's title and abstract only (embed_text; the id is the abstract's): a new
            # year, venue, kind of work or author list is written to its record, not embedded again. A 100k
            # arXiv snapshot ingested again after an upgrade that reads one more field is not re-embedded.
            retitled = self._retitled(changed)
            metadata_only = [p for p in changed if p.id not in retitled]
            changed = [p for p in changed if p.id in retitled]
            relabelled = [
                p
                for pid, p in incoming.items()
                if pid in stored
                and stored[pid].content_hash == p.content_hash
                and (list(stored[pid].sources) != p.sources or list(stored[pid].paths) != paths_of[pid])
            ]
            removed = [
                pid for pid, sp in stored.items() if pid not in incoming and sp.paths and all(within(p, scope) for p in sp.paths)
            ]
            if new or changed or metadata_only or removed:
                self.store.save_fingerprint("")
            self.store.size_search(len(new))
            chunks = self._embed_all(new + changed, {p.id for p in changed}, paths_of, progress)
            self.store.relabel(relabelled + metadata_only, paths_of)
            self.store.remove_papers(removed)
            gone = set(removed)
            hashes = {pid: sp.content_hash for pid, sp in stored.items() if pid not in gone}
            hashes.update({pid: p.content_hash for pid, p in incoming.items()})
            fingerprint = corpus_fingerprint(hashes)
            if self.store.saved_fingerprint() != fingerprint:
                self.store.save_fingerprint(fingerprint)
            return IngestReport(
                new=len(new),
                updated=len(changed) + len(metadata_only),
                unchanged=len(incoming) - len(new) - len(changed) - len(metadata_only),
                removed=len(removed),
                skipped=len([i for i in issues if not i.refused and not i.kept]),
                chunks_embedded=chunks,
                issues=list(issues),
            )

    def _retitled(self, changed: Sequence[Paper], page: int = 500) -> set[str]:
        """The ids among `changed` whose title (what the model reads besides the abstract) is not the stored one."""
        out: set[str] = set()
        for start in range(0, len(changed), page):
            group = changed[start : start + page]
            stored = self.store.papers_by_id([p.id for p in group])
            out |= {
                p.id for p in group
                if p.id not in stored or self.embed_text(p, "") != self.embed_text(stored[p.id], "")
            }
        return out

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
        chunks: list[TextNode] = []
        sentences: dict[str, list[tuple[str, list[float]]]] = {p.id: [] for p in group}  # in abstract order
        sums: dict[str, np.ndarray] = {}  # each paper's chunk vectors, summed: its record's vector
        for (paper, kind, position, text), vector in zip(plan, vectors):
            if kind == "sentence":
                sentences[paper.id].append((text, vector))
                continue
            node = TextNode(
                id_=f"{paper.id}:{kind[0]}{position}",
                text=text,
                embedding=vector,
                metadata={"paper_id": paper.id, "title": paper.title, "position": position, "kind": kind},
                excluded_embed_metadata_keys=["paper_id", "position", "kind"],
                excluded_llm_metadata_keys=["paper_id", "position", "kind"],
            )
            node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=paper.id)
            chunks.append(node)
            chunk = np.asarray(vector, dtype=np.float64)
            sums[paper.id] = sums[paper.id] + chunk if paper.id in sums else chunk
        ids = [p.id for p in group]
        self.store.write_journal(ids)
        # Only changed papers have old vectors: a new one's could only be orphans of a killed ingest,
        # which recover_journal has removed. Deleting by metadata filter scans, so skip it when possible.
        self.store.delete_vectors(replacing)
        self.store.add_nodes(chunks, sentences)
        self.store.put_papers(group, paths_of, [_unit(sums[p.id]) for p in group])
        self.store.clear_journal()
        return len(chunks)

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


def named(path: str, source: str) -> bool:
    """Whether `source` is the name an ingest gave the file at `path` (its name, or its path under a folder)."""
    return Path(path).as_posix() == source or Path(path).as_posix().endswith("/" + source)


def outside_scope(sources: Sequence[str], paths: Sequence[str], scope: Sequence[Path]) -> tuple[list[str], list[str]]:
    """Of a stored paper's sources and paths, those of files outside an ingest's `scope` (which it did not read, so
    what they say of the paper stays). A source is a file's name as the ingest that read it called it ("x.jsonl",
    "sub/x.jsonl"): kept when a file outside the scope holds the paper under that name (sources keep the order they
    were read in, paths are sorted, so the two lists do not pair up)."""
    outside = [p for p in paths if not within(p, scope)]
    return [s for s in sources if any(named(p, s) for p in outside)], outside


def within(path: str, scope: Sequence[Path]) -> bool:
    """Whether a stored source path was re-read by this ingest (a scoped file or under a scoped folder)."""
    p = Path(path)
    for s in scope:
        if p == s or s in p.parents:
            return True
    return False


def _unit(vector: np.ndarray) -> list[float]:
    norm = float(np.linalg.norm(vector)) or 1.0
    return (vector / norm).tolist()
