"""Speed and scale benchmark: ingest against the embedding limit, latency, memory, and the stock pipeline.

    python benchmarks/bench.py --quick --json          # the seeds only, under 3 minutes
    python benchmarks/bench.py --sizes 74,10000        # what benchmarks/RESULTS.md records

Each corpus size runs in a fresh worker process (so its peak RSS is its own) that measures, in one run:
the raw embedding throughput of the model alone on the same abstracts (the physical limit of ingest,
sampled before and after the ingest so load drift shows), ingest papers/s through `Assistant.ingest`,
warm retrieve and warm ask p50/p95, peak RSS, store size, and the stock LlamaIndex pipeline
(`VectorStoreIndex` over a Chroma collection, default chunking, the same model loaded the stock way:
`HuggingFaceEmbedding` on torch) on the same papers and questions. The parent then times a cold `assistant ask` process from start to answer and
measures a serving process's peak RSS, first on the store opened in process, then with the same store
behind a real `chroma run` (Chroma server mode, where the HNSW indexes live in the server: its RSS is
reported apart). `--measure STORE` does only these last steps, on a store kept from an earlier run.

Corpora beyond the 74 seed papers are synthetic and deterministic (see `synthetic_papers`): every
synthetic abstract is stitched from real seed sentences, so vocabulary, sentence length and the
chunk/sentence count per paper match the seeds, while each abstract is distinct.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import platform
import pstats
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
QUESTIONS = ROOT / "tests" / "questions.jsonl"
PER_FILE = 2_500  # papers per synthetic JSONL file (about 3.5 MB), under the loader's per-file limit
COLD_QUESTION = "What does the neural tangent kernel describe?"

# (size at most, metric, limit) from the speed issue ("A core faster than the stock LlamaIndex
# pipeline"); sizes between are held to the next size's limits.
TARGETS = {
    "ask_p50_ms": [(74, 60.0), (None, 400.0)],
    "cold_ask_s": [(74, 2.0), (None, 5.0)],
    "serve_rss_mb": [(74, 1024.0), (None, 1024.0)],
    "server_cold_ask_s": [(None, 5.0)],
    "server_app_rss_mb": [(None, 1024.0)],
}


# -- corpus ----------------------------------------------------------------------------------------
def seed_papers() -> list[Any]:
    from assistant.corpus import load_corpus

    return load_corpus([SEEDS]).papers


def synthetic_papers(n: int, seeds: list[Any]) -> list[dict[str, Any]]:
    """`n` distinct abstracts, the same on every run: seed sentences recombined, seed titles crossed.

    Paper i draws (with `random.Random(i)`) a seed paper as its template: it keeps the template's
    sentence count and first sentence (which sets the topic), and fills the rest with sentences drawn
    from the whole seed pool. Its title joins the first half of the template's title with the second
    half of another seed title. Duplicates are redrawn.
    """
    from assistant.text import split_sentences

    pool = [(p, split_sentences(p.abstract)) for p in seeds if p.has_title]
    every = [s for _, sentences in pool for s in sentences[1:]]
    seen = {p.abstract for p in seeds}
    out: list[dict[str, Any]] = []
    i = 0
    while len(out) < n:
        rng = random.Random(i)
        i += 1
        template, sentences = rng.choice(pool)
        other, _ = rng.choice(pool)
        body = [sentences[0]] + [rng.choice(every) for _ in range(max(1, len(sentences) - 1))]
        abstract = " ".join(body)
        if abstract in seen:
            continue
        seen.add(abstract)
        a, b = template.title.split(), other.title.split()
        title = " ".join(a[: max(1, len(a) // 2)] + b[len(b) // 2 :])
        out.append({"title": title, "abstract": abstract, "authors": template.authors[:3], "year": 2020 + i % 5})
    return out


def write_corpus(size: int, folder: Path) -> list[Path]:
    """The corpus of `size` papers as files: the seeds folder, plus synthetic JSONL files beyond 74."""
    folder.mkdir(parents=True, exist_ok=True)
    seeds = seed_papers()
    if size <= len(seeds):
        path = folder / "seeds.jsonl"
        rows = [{"title": p.title, "abstract": p.abstract, "authors": p.authors} for p in seeds[:size]]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return [path]
    rows = synthetic_papers(size - len(seeds), seeds)
    files = [SEEDS]
    for start in range(0, len(rows), PER_FILE):
        path = folder / f"synthetic-{start // PER_FILE:03d}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows[start : start + PER_FILE]))
        files.append(path)
    return files


def recombining_embedder(model: Any, seeds: list[Any], queries: Any = None, known: dict[str, Any] | None = None) -> Any:
    """A stand-in embedder for corpus sizes the model cannot embed in the time available here (100k
    papers is about 2 h of the model alone on 2 cores, 4 h of ingest): every synthetic sentence is a
    seed sentence, so it gets the model's real vector of that sentence (computed once) plus a little
    noise seeded by its context (so no two stored vectors are equal; cosine to the original ≈ 0.97);
    a chunk or document vector is the mean of its sentences'. Queries go to the real model (`queries`, or
    `model`). Everything of ingest except the model pass runs for real: chunking, sentence splitting, Chroma
    writes, BM25."""
    import hashlib

    import numpy as np
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.bridge.pydantic import PrivateAttr

    from assistant.text import split_sentences

    if known is None:
        sentences = sorted({s for p in seeds for s in split_sentences(p.abstract)})
        known = {s: np.asarray(v) for s, v in zip(sentences, model.get_text_embedding_batch(sentences))}

    class Recombining(BaseEmbedding):
        _model: Any = PrivateAttr()
        misses: int = 0

        def __init__(self) -> None:
            super().__init__(model_name="recombined seed-sentence vectors", embed_batch_size=256)
            self._model = model

        def with_queries(self, other: Any) -> Any:
            """The same stored vectors, with queries embedded by `other` (the stock pipeline's own model)."""
            return recombining_embedder(model, seeds, other, known)

        def _sentence(self, text: str, context: str) -> Any:
            if text not in known:  # the corpus re-split a seed sentence differently: ask the model
                self.misses += 1
                known[text] = np.asarray(self._model.get_text_embedding(text))
            seed = int.from_bytes(hashlib.blake2b(f"{context}\0{text}".encode(), digest_size=8).digest(), "little")
            noisy = known[text] + np.random.default_rng(seed).normal(0.0, 0.25 / np.sqrt(len(known[text])), len(known[text]))
            return noisy / np.linalg.norm(noisy)

        def _text(self, text: str) -> list[float]:
            parts = [self._sentence(s, text) for s in split_sentences(text) if s in known] or [self._sentence(text, "")]
            mean = np.mean(parts, axis=0)
            return (mean / np.linalg.norm(mean)).tolist()

        def embed_with_spans(self, texts: list[str], spans: list[list[tuple[int, int]]]) -> list[tuple[list[float], list[Any]]]:
            out = []
            for text, pieces in zip(texts, spans):
                parts = [self._sentence(text[a:b], text) for a, b in pieces]
                mean = np.mean(parts, axis=0) if parts else np.asarray(self._text(text))
                out.append(((mean / np.linalg.norm(mean)).tolist(), [v.tolist() for v in parts]))
            return out

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return [self._text(t) for t in texts]

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._text(text)

        def _get_query_embedding(self, query: str) -> list[float]:
            return (queries or self._model).get_query_embedding(query)

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return Recombining()


# -- measuring -------------------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def timed(fn: Any, items: list[str]) -> dict[str, float]:
    fn(items[0])  # warm: the first call loads lazily built state
    ms = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        ms.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": round(statistics.median(ms), 1), "p95_ms": round(pct(ms, 0.95), 1)}


def raw_rate(embedder: Any, texts: list[str]) -> float:
    """Abstracts per second for the model alone: title + abstract, one text each, batched."""
    start = time.perf_counter()
    embedder.get_text_embedding_batch(texts)
    return len(texts) / (time.perf_counter() - start)


def dir_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20, 1)


def rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def questions(limit: int) -> list[str]:
    rows = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    return [r["question"] for r in rows][:limit]


def worker(size: int, work: Path, n_questions: int, raw_sample: int, recombine: bool = False) -> dict[str, Any]:
    """Everything measured inside one process for one corpus size."""
    from assistant.api import Assistant
    from assistant.config import Settings
    from assistant.corpus import load_corpus
    from assistant.providers import build_embedder

    files = write_corpus(size, work / "corpus")
    papers = load_corpus(files).papers
    settings = Settings(store_dir=work / "store", seeds_dir=SEEDS, quiet=True)
    embedder = build_embedder(settings)
    embedder.get_text_embedding_batch(["warm up the model"])
    sample = [f"{p.title}. {p.abstract}" for p in papers[: min(raw_sample, len(papers))]]

    raw_before = raw_rate(embedder, sample)
    indexing = recombining_embedder(embedder, seed_papers()) if recombine else embedder
    assistant = Assistant(settings, embedder=indexing, auto_ingest=False)
    profile = cProfile.Profile()  # a few hundred Python calls per batch: negligible overhead
    start = time.perf_counter()
    profile.enable()
    report = assistant.ingest(files)
    profile.disable()
    ingest_s = time.perf_counter() - start
    embed_s = sum(row[3] for key, row in pstats.Stats(profile).stats.items() if key[2] in ("get_text_embedding_batch", "embed_with_spans"))
    raw_after = raw_rate(embedder, sample)
    raw = (raw_before + raw_after) / 2

    qs = questions(n_questions)
    start = time.perf_counter()
    assistant.papers()  # load the keyword index and term weights once, as a server does at start
    state_s = time.perf_counter() - start
    retrieve = timed(lambda q: assistant.retrieve(q), qs)
    ask = timed(lambda q: assistant.ask(q), qs)
    ours_rss = rss_mb()

    # Stock runs the same model loaded as a stock user loads it (HuggingFaceEmbedding on torch), so the
    # ratio measures the pipeline. Recombined sizes store the same recombined vectors on both sides (no model
    # pass) and embed each side's questions with its own model: until 2026-12-01 stock's went through ours.
    stocks = stock_embedder(settings)
    stock = stock_pipeline(papers, indexing.with_queries(stocks) if recombine else stocks, work / "stock", qs)
    return {
        "size": len(papers),
        "vectors": "recombined" if recombine else "model",
        "embed_precision": settings.embed_precision,
        "recombine_misses": getattr(indexing, "misses", 0),
        "raw_embed_papers_per_s": round(raw, 2),
        "raw_embed_before_after": [round(raw_before, 2), round(raw_after, 2)],
        "raw_sample": len(sample),
        "ingest_s": round(ingest_s, 1),
        "ingest_papers_per_s": round(report.new / ingest_s, 2),
        "ingest_vs_raw": None if recombine else round(report.new / ingest_s / raw, 2),
        "chunks_embedded": report.chunks_embedded,
        "ingest_embed_share": round(embed_s / ingest_s, 3),
        **token_budget(papers[: len(sample)], settings),
        "load_state_s": round(state_s, 2),
        "retrieve_p50_ms": retrieve["p50_ms"],
        "retrieve_p95_ms": retrieve["p95_ms"],
        "ask_p50_ms": ask["p50_ms"],
        "ask_p95_ms": ask["p95_ms"],
        "peak_rss_mb": ours_rss,
        "store_mb": dir_mb(work / "store"),
        "questions": len(qs),
        "stock": stock,
        "retrieve_vs_stock": round(retrieve["p50_ms"] / stock["retrieve_p50_ms"], 2),
        "ingest_vs_stock": round(report.new / ingest_s / stock["ingest_papers_per_s"], 2),
    }


def token_budget(papers: list[Any], settings: Any) -> dict[str, float]:
    """Word pieces the model reads per paper: raw (title + abstract, cut at the model's window), the
    whole abstract read once (what a complete index must read at least), and ingest (every chunk with
    its title prefix; sentence vectors are pooled from the chunk pass). raw ÷ whole bounds ingest ÷ raw."""
    from assistant.index import Indexer
    from assistant.providers import SPECIAL_TOKENS, embed_window, word_pieces

    pieces, window = word_pieces(settings.embed_model), embed_window(settings.embed_model)
    indexer = Indexer(None, None, settings)  # type: ignore[arg-type]  # only its splitter is needed
    whole = sum(len(pieces(f"{p.title}. {p.abstract}")) + SPECIAL_TOKENS for p in papers)
    raw = sum(min(window, len(pieces(f"{p.title}. {p.abstract}")) + SPECIAL_TOKENS) for p in papers)
    chunks = sum(len(pieces(indexer.embed_text(p, c))) + SPECIAL_TOKENS for p in papers for c in indexer.chunk_texts(p))
    return {
        "tokens_per_paper_raw": round(raw / len(papers), 1),
        "tokens_per_paper_whole": round(whole / len(papers), 1),
        "tokens_per_paper_ingest": round(chunks / len(papers), 1),
        "ingest_tokens_vs_raw": round(chunks / raw, 2),
        "ingest_vs_raw_ceiling": round(raw / whole, 2),
    }


def stock_embedder(settings: Any) -> Any:
    """The default model as LlamaIndex's documentation loads a local one (sentence-transformers, torch)."""
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from assistant.providers import embed_model_path, offline_environment

    offline_environment()
    return HuggingFaceEmbedding(model_name=str(embed_model_path(settings.embed_model)), device="cpu")


def stock_pipeline(papers: list[Any], embedder: Any, folder: Path, qs: list[str]) -> dict[str, Any]:
    """LlamaIndex out of the box: VectorStoreIndex.from_documents into a Chroma collection, top-10 retriever."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore

    client = chromadb.PersistentClient(path=str(folder), settings=ChromaSettings(anonymized_telemetry=False))
    vector_store = ChromaVectorStore(chroma_collection=client.get_or_create_collection("stock"))
    documents = [Document(text=p.abstract, metadata={"title": p.title}) for p in papers]
    start = time.perf_counter()
    index = VectorStoreIndex.from_documents(
        documents, storage_context=StorageContext.from_defaults(vector_store=vector_store), embed_model=embedder
    )
    ingest_s = time.perf_counter() - start
    retriever = index.as_retriever(similarity_top_k=10)
    retrieve = timed(retriever.retrieve, qs)
    return {
        "ingest_papers_per_s": round(len(papers) / ingest_s, 2),
        "retrieve_p50_ms": retrieve["p50_ms"],
        "retrieve_p95_ms": retrieve["p95_ms"],
        "store_mb": dir_mb(folder),
    }


def _env(store: Path, extra: dict[str, str] | None) -> dict[str, str]:
    return {**os.environ, "ASSISTANT_STORE_DIR": str(store), "ASSISTANT_SEEDS_DIR": str(SEEDS), **(extra or {})}


def cold_ask(store: Path, extra: dict[str, str] | None = None) -> dict[str, float]:
    """Seconds of `assistant ask` from process start to printed answer."""
    command = [sys.executable, "-m", "assistant.cli", "ask", COLD_QUESTION, "--json"]
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=_env(store, extra), cwd=store.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    if proc.returncode != 0 or not json.loads(out)["citations"]:
        raise SystemExit(f"cold ask failed ({proc.returncode}): {err.decode()[-2000:]}")
    return {"cold_ask_s": round(seconds, 2)}


def cold_rss(store: Path, extra: dict[str, str] | None = None) -> float:
    """Peak RSS (MB) of a serving process: the Assistant loaded, asked ten questions."""
    script = (
        "import json,resource,sys\n"
        "from assistant.api import Assistant\n"
        "a = Assistant()\n"
        f"for q in {questions(10)!r}: a.ask(q)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=_env(store, extra), cwd=store.parent, capture_output=True, text=True, check=True
    )
    return round(float(out.stdout.strip().splitlines()[-1]), 1)


def chroma_cli() -> str:
    beside = Path(sys.executable).with_name("chroma")
    found = str(beside) if beside.exists() else shutil.which("chroma")
    if not found:
        raise SystemExit("the chroma command (installed with chromadb) is missing")
    return found


@contextlib.contextmanager
def chroma_server(store: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`chroma run --path STORE` on 127.0.0.1, up once its heartbeat answers; stopped afterwards."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (store.parent / "chroma-server.log").open("wb")
    proc = subprocess.Popen(
        [chroma_cli(), "run", "--path", str(store), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"chroma run stopped: see {log.name}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as response:
                if response.status == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("chroma run did not answer its heartbeat within 120 s")
            time.sleep(0.2)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def peak_rss_of(pid: int) -> float:
    """Peak RSS (MB) of a running process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def server_mode(store: Path) -> dict[str, float]:
    """The same store served by a real `chroma run`: the app's peak RSS over ten questions, then its cold
    `assistant ask` against the running (warm) server, and the Chroma server's own peak RSS."""
    with chroma_server(store) as (url, proc):
        extra = {"ASSISTANT_CHROMA_URL": url}
        app_rss = cold_rss(store, extra)  # also what loads the server's HNSW indexes, as a first visitor would
        cold = cold_ask(store, extra)["cold_ask_s"]
        return {"server_app_rss_mb": app_rss, "server_cold_ask_s": cold, "chroma_server_rss_mb": peak_rss_of(proc.pid)}


def evict_page_cache(roots: list[Path]) -> int:
    """Drop these files' pages from the OS page cache (no root needed: clean pages only); returns files touched."""
    count = 0
    for root in roots:
        for path in [root] if root.is_file() else root.rglob("*"):
            with contextlib.suppress(OSError):
                if path.is_file() and not path.is_symlink():
                    fd = os.open(path, os.O_RDONLY)
                    try:
                        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                    finally:
                        os.close(fd)
                    count += 1
    return count


def disk_cold_asks(store: Path, repeats: int = 3) -> dict[str, Any]:
    """Cold asks with nothing read from memory: before each, the store, the installed packages (the libraries,
    the model and its cached ONNX graphs) and ~/.cache are evicted from the page cache. A bench run's cold ask
    depends on what the run before it left cached; this one does not."""
    import site

    roots = [store, ROOT / "assistant", Path.home() / ".cache", *(Path(p) for p in site.getsitepackages())]
    times = []
    for _ in range(repeats):
        evict_page_cache([r for r in roots if r.exists()])
        times.append(cold_ask(store)["cold_ask_s"])
    return {"disk_cold_ask_s": times, "disk_cold_ask_median_s": statistics.median(times)}


def measure_store(store: Path, disk_cold: bool = False) -> dict[str, Any]:
    """Cold start and serving memory of an existing store, in process and behind a Chroma server."""
    extra = disk_cold_asks(store) if disk_cold else {}
    return {"store": str(store), **extra, **cold_ask(store), "serve_rss_mb": cold_rss(store), **server_mode(store)}


# -- report ----------------------------------------------------------------------------------------
def verdicts(row: dict[str, Any]) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for metric, limits in TARGETS.items():
        if metric not in row:
            continue
        for upto, limit in limits:
            if upto is None or row["size"] <= upto:
                out[f"{metric} <= {limit:g}"] = row[metric] <= limit
                break
    if row["size"] >= 10_000 and row["ingest_vs_raw"] is not None:
        out["ingest_vs_raw >= 0.8"] = row["ingest_vs_raw"] >= 0.8
    out["retrieve <= 1.0x stock"] = row["retrieve_vs_stock"] <= 1.0
    if row["size"] >= 10_000 and row["vectors"] == "model":
        out["ingest >= 1.0x stock"] = row["ingest_vs_stock"] >= 1.0
    return out


def machine() -> dict[str, Any]:
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
        platform.processor(),
    )
    import onnxruntime

    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "onnxruntime": onnxruntime.__version__,
        "ram_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
    }


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| papers | raw embed/s | ingest/s | ingest÷raw | stock ingest/s | ingest ÷ stock | retrieve p50/p95 ms | stock retrieve p50/p95 ms "
        "| retrieve ÷ stock "
        "| ask p50/p95 ms | cold ask s | peak RSS MB (ingest / serve) | store MB (ours / stock) "
        "| Chroma server mode: cold ask s / app RSS MB / server RSS MB |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        s = r["stock"]
        mark = " (recombined vectors: no model pass)" if r.get("vectors") == "recombined" else ""
        lines.append(
            f"| {r['size']:,}{mark} | {r['raw_embed_papers_per_s']} | {r['ingest_papers_per_s']} | {r['ingest_vs_raw'] or '–'} "
            f"| {s['ingest_papers_per_s']} | {r['ingest_vs_stock']}× | {r['retrieve_p50_ms']} / {r['retrieve_p95_ms']} "
            f"| {s['retrieve_p50_ms']} / {s['retrieve_p95_ms']} | {r['retrieve_vs_stock']}× | {r['ask_p50_ms']} / {r['ask_p95_ms']} "
            f"| {r['cold_ask_s']} | {r['peak_rss_mb']} / {r['serve_rss_mb']} | {r['store_mb']} / {s['store_mb']} "
            f"| {r.get('server_cold_ask_s', '–')} / {r.get('server_app_rss_mb', '–')} / {r.get('chroma_server_rss_mb', '–')} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the 74 seed papers and 10 questions (under 3 minutes)")
    parser.add_argument("--sizes", default="74,10000,100000", help="comma-separated corpus sizes")
    parser.add_argument("--questions", type=int, default=30, help="questions timed per size (from tests/questions.jsonl)")
    parser.add_argument("--raw-sample", type=int, default=400, help="abstracts embedded for the raw model rate")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.add_argument("--out", default=None, help="results file (default: benchmarks/results[-quick].json)")
    parser.add_argument("--keep", default=None, help="keep the stores in this folder (default: a temp folder)")
    parser.add_argument(
        "--recombine-from",
        type=int,
        default=None,
        help="sizes from this one up store recombined seed-sentence vectors instead of a model pass "
        "(see recombining_embedder; for 100k on a small machine); their ingest rate excludes the model",
    )
    parser.add_argument(
        "--measure", default=None, metavar="STORE",
        help="only time a cold `assistant ask` and the serving memory of an existing store, in process and "
        "behind a `chroma run` (e.g. one kept with --keep, after a code change)",
    )
    parser.add_argument(
        "--disk-cold", action="store_true",
        help="with --measure: also time three cold asks with the store and the installed packages evicted "
        "from the page cache first (nothing read from memory)",
    )
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--recombine", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--work", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.questions, args.raw_sample = "74", 10, 74

    if args.worker is not None:
        print(json.dumps(worker(args.worker, Path(args.work), args.questions, args.raw_sample, args.recombine)))
        return 0
    if args.measure:
        measured = {"machine": machine(), "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **measure_store(Path(args.measure), args.disk_cold)}
        measured["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
        print(json.dumps(measured) if args.json else json.dumps(measured, indent=2))
        return 0

    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="assistant-bench-"))
    info = machine()
    rows: list[dict[str, Any]] = []
    result: dict[str, Any] = {}
    out = Path(args.out or ROOT / "benchmarks" / ("results-quick.json" if args.quick else "results.json"))
    for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
        work = base / f"n{size}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        print(f"[{time.strftime('%H:%M:%S')}] {size:,} papers ...", file=sys.stderr, flush=True)
        done = subprocess.run(
            [sys.executable, __file__, "--worker", str(size), "--work", str(work),
             "--questions", str(args.questions), "--raw-sample", str(args.raw_sample),
             *(["--recombine"] if args.recombine_from is not None and size >= args.recombine_from else [])],
            capture_output=True, text=True,
        )
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            return 1
        row = json.loads(done.stdout.strip().splitlines()[-1])
        row.update(cold_ask(work / "store"))
        row["serve_rss_mb"] = cold_rss(work / "store")
        row.update(server_mode(work / "store"))
        row["targets"] = verdicts(row)
        rows.append(row)
        info["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
        result = {"machine": info, "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "quick": args.quick, "rows": rows}
        out.write_text(json.dumps(result, indent=2) + "\n")  # after every size: a long run killed later keeps these
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    print(table(rows))
    for row in rows:
        missed = [name for name, ok in row["targets"].items() if not ok]
        print(f"{row['size']:,} papers: " + ("all targets met" if not missed else "missed: " + ", ".join(missed)))
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
