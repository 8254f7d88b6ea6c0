"""Retrieval modes, de-duplication to papers, and recall on the bundled questions."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import load_questions

from assistant.api import Assistant
from assistant.corpus import normalise


def _paper_for_quote(assistant: Assistant, quote: str) -> str:
    hits = [p.id for p in assistant.papers() if normalise(quote) in normalise(p.abstract)]
    assert len(hits) == 1, quote
    return hits[0]


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_each_mode_returns_distinct_papers(assistant: Assistant, mode: str) -> None:
    passages = assistant.retrieve("neural tangent kernel smallest eigenvalue", k=5, mode=mode)
    assert len(passages) == 5
    assert len({p.paper_id for p in passages}) == 5
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    assert any("NTK" in p.text or "Tangent" in p.title for p in passages[:2])


def test_k_is_respected(assistant: Assistant) -> None:
    assert len(assistant.retrieve("transformers", k=2)) == 2
    assert len(assistant.retrieve("transformers", k=12)) == 12


@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_k_beyond_the_candidate_depth_is_respected(assistant: Assistant, mode: str) -> None:
    """A k deeper than ASSISTANT_CANDIDATE_DEPTH (30) reads the lists deeper; it was silently capped near 38."""
    assert assistant.settings.candidate_depth < 60 < len(assistant.papers())
    passages = assistant.retrieve("quantization of vision transformers", k=60, mode=mode)
    assert len({p.paper_id for p in passages}) == 60


def test_bm25_mode_shows_bm25_scores(assistant: Assistant) -> None:
    """bm25 mode reports BM25's own scores (it printed a one-list reciprocal-rank score, 0.0164)."""
    from assistant.retrieve import KeywordIndex

    question = "quantization of vision transformers"
    expected = KeywordIndex("seeds", assistant.papers).search(question, 60)
    passages = assistant.retrieve(question, k=60, mode="bm25")
    assert 5 < len(passages) == len(expected) < 60  # only papers holding a word of the question
    assert [(p.paper_id, p.score) for p in passages] == [(pid, pytest.approx(score, rel=1e-5)) for pid, score in expected]


def test_hybrid_finds_the_expected_paper_in_top5_for_90_percent(assistant: Assistant) -> None:
    cases = [c for c in load_questions() if c["answerable"]]
    assert len(cases) >= 25
    found = 0
    misses = []
    for case in cases:
        expected = {_paper_for_quote(assistant, q) for q in case["expected_quotes"]}
        top = {p.paper_id for p in assistant.retrieve(str(case["question"]), k=5, mode="hybrid")}
        if expected & top:
            found += 1
        else:
            misses.append(case["id"])
    assert found / len(cases) >= 0.90, misses


def test_keyword_index_is_saved_without_the_texts_and_reloaded_without_the_corpus(tmp_path: Path) -> None:
    from assistant.retrieve import KeywordIndex
    from assistant.types import Paper

    papers = [
        Paper(id="a", title="Diffusion", abstract="Diffusion models denoise images step by step."),
        Paper(id="b", title="Kernels", abstract="The neural tangent kernel describes training of wide networks."),
        Paper(id="c", title="Sparse experts", abstract="Mixtures of experts route each token to a few experts."),
    ]
    path = tmp_path / "bm25"
    built = KeywordIndex("v1", lambda: papers, path=path)
    saved = "".join(f.read_text(errors="replace") for f in path.iterdir())
    assert '"b"' in saved and "kernel describes training" not in saved  # ids only: the texts live in the store
    assert [p.name for p in tmp_path.iterdir()] == ["bm25"]  # no temp file or folder left beside it

    def not_read() -> list[Paper]:
        raise AssertionError("the corpus was read although the saved index is current")

    loaded = KeywordIndex("v1", not_read, path=path)
    assert loaded.search("neural tangent kernel", 3) == built.search("neural tangent kernel", 3)
    assert [pid for pid, _ in loaded.search("experts routing tokens", 3)] == ["c"]
    rebuilt = KeywordIndex("v2", lambda: papers[:2], path=path)  # another corpus: built afresh
    assert rebuilt.size == 2 and rebuilt.search("experts", 3) == []
    assert KeywordIndex("v2", not_read, path=path).size == 2  # and saved in its place


def test_a_keyword_index_saved_by_llama_index_is_rebuilt_not_trusted(tmp_path: Path) -> None:
    """A cache written by BM25Retriever.persist (before bm25s was used directly) has the same fingerprint
    stamp but no paper ids: it is stale and rebuilt, never read as this format."""
    from assistant.retrieve import KeywordIndex
    from assistant.types import Paper

    papers = [Paper(id="a", title="Kernels", abstract="The neural tangent kernel."), Paper(id="b", title="Other", abstract="Diffusion.")]
    old = tmp_path / "bm25"
    old.mkdir()
    (old / "fingerprint").write_text("v1")
    (old / "retriever.json").write_text('{"similarity_top_k": 2}')
    (old / "params.index.json").write_text('{"k1": 1.5, "num_docs": 2}')
    (old / "corpus.jsonl").write_text('{"node_id": "a"}\n{"node_id": "b"}\n')
    rebuilt: list[int] = []
    index = KeywordIndex("v1", lambda: rebuilt.append(1) or papers, path=old)
    assert rebuilt == [1] and [pid for pid, _ in index.search("tangent kernel", 2)] == ["a"]
    assert not (old / "retriever.json").exists()  # replaced by the current format


def test_keyword_rankings_and_scores_are_those_of_llama_index_bm25(assistant: Assistant, monkeypatch: pytest.MonkeyPatch) -> None:
    """bm25s used directly ranks and scores exactly as llama-index's BM25Retriever did (English stop words,
    Snowball stemmer, bm25s defaults): tests/bm25_rankings.jsonl holds BM25Retriever's top 30 over the seed
    papers in store order, recorded before the switch, for 15 questions (two with no hit at all). Since then
    British spellings stem as American ones (the next test) and a question's Greek letter is also searched by its
    LaTeX name (test_a_greek_letter_finds_the_latex_that_names_it); without those steps the rest is unchanged."""
    import json

    from assistant import retrieve, text
    from assistant.retrieve import KeywordIndex

    monkeypatch.setattr(text, "american", lambda word: word)
    monkeypatch.setattr(retrieve, "_greek_spelled", lambda query: [])
    index = KeywordIndex("seeds", assistant.papers)
    cases = [json.loads(line) for line in (Path(__file__).parent / "bm25_rankings.jsonl").read_text().splitlines()]
    assert len(cases) == 15 and sum(not c["hits"] for c in cases) == 2
    for case in cases:
        hits = index.search(case["query"], 30)
        assert [pid for pid, _ in hits] == [pid for pid, _ in case["hits"]], case["query"]
        assert [score for _, score in hits] == pytest.approx([score for _, score in case["hits"]], rel=1e-6), case["query"]


def test_a_greek_letter_finds_the_latex_that_names_it(assistant: Assistant) -> None:
    """Answers print "$\\Sigma$AE" as "ΣAE", and a question copying it matched no indexed word ("σae"): "What is ΣAE?"
    found the symbolic autoencoding paper by its embedding alone, fourth, and a question in two parts not at all."""
    from assistant.retrieve import KeywordIndex, _greek_spelled

    assert _greek_spelled("What is ΣAE? Is α-entmax (naïve) sparse?") == [" sigma AE?", " alpha -entmax"]
    index = KeywordIndex("seeds", assistant.papers)
    found = assistant.paper(index.search("What is ΣAE?", 5)[0][0])
    assert found is not None and "symbolic autoencoding" in found.abstract


def test_british_and_american_spellings_find_each_other(assistant: Assistant, tmp_path: Path) -> None:
    """"quantisation" finds the papers that write "quantization", in keyword search and in the answer; and an
    index saved before spellings were joined is rebuilt, not read with its old vocabulary."""
    import json

    from assistant.listing import mentions_topic
    from assistant.retrieve import KeywordIndex
    from assistant.text import SPELLING_VERSION, american, content_terms, stem
    from assistant.types import Paper

    assert content_terms("quantised behaviour, normalisation, analysed, centre") == content_terms(
        "quantized behavior, normalization, analyzed, center"
    )
    # A word with one spelling is left alone: Snowball strips "-ize" and not "-ise", so a rewrite would split it
    # from its family ("supervised" / "supervision") or join it to another word ("expertise" / "expert").
    one_spelling = ("this", "basis", "analysis", "four", "pairwise", "unsupervised", "imprecise", "scoured", "timbre", "noise")
    assert [american(w) for w in one_spelling] == list(one_spelling)
    assert stem("supervised") == stem("supervision") and stem("precise") == stem("precision")
    assert stem("expertise") != stem("expert") and stem("regularise") == stem("regularize")
    assert american("colourisation") == "colorization" and american("neighbourhood") == "neighborhood"
    # what "How many papers study …?" counts on a small store (listing.mentions_topic) reads both spellings
    assert mentions_topic(["quantization"], "We study quantisation.") and mentions_topic(["behaviour"], "their behavior")
    assert mentions_topic(["supervision"], "a weakly supervised method")
    british = {p.paper_id for p in assistant.retrieve("post-training quantisation", k=5, mode="bm25")}
    assert british and british == {p.paper_id for p in assistant.retrieve("post-training quantization", k=5, mode="bm25")}
    answer = assistant.ask("Which papers study quantisation?")
    assert not answer.abstained and all("Quantization" in c.title for c in answer.citations), answer.text
    papers = [Paper(id="a", title="Regularisation", abstract="We regularise the weights."), Paper(id="b", title="Other", abstract="Diffusion.")]
    assert [pid for pid, _ in KeywordIndex("v1", lambda: papers, path=tmp_path / "bm25").search("regularization", 2)] == ["a"]
    saved = json.loads((assistant.settings.store_dir / "bm25" / "papers.json").read_text())["fingerprint"]
    assert saved.endswith(f":spelling-{SPELLING_VERSION}")  # so an index of the old vocabulary is not current


def test_an_abbreviation_and_its_plural_are_one_term(tmp_path: Path) -> None:
    """Snowball strips no "s" from a word without a vowel: "GNNs" and "GNN" were two terms, in keyword search
    and in every overlap an answer is chosen by."""
    from assistant.retrieve import KeywordIndex
    from assistant.text import content_terms, stem
    from assistant.types import Paper

    assert content_terms("GNNs, LLMs, SSMs and PINNs") == content_terms("GNN, LLM, SSM and PINN") == ["gnn", "llm", "ssm", "pinn"]
    assert stem("this") == "this" and stem("gps") == stem("gp") and stem("diffusions") == stem("diffusion")
    papers = [Paper(id="a", title="Message passing", abstract="We study GNN expressivity."), Paper(id="b", title="Other", abstract="Diffusion.")]
    assert [pid for pid, _ in KeywordIndex("v1", lambda: papers, path=tmp_path / "bm25").search("GNNs", 2)] == ["a"]


def test_the_keyword_index_is_built_from_one_pass_over_a_stream(assistant: Assistant) -> None:
    """The corpus is read once as it streams from the store (nothing kept but token ids), and ranks and
    scores exactly as bm25s's own whole-corpus tokenize-and-index does."""
    import bm25s

    from assistant.retrieve import KeywordIndex, _tokenize

    papers = assistant.papers()
    read: list[str] = []

    def stream():  # a generator: no len(), no second pass
        for paper in papers:
            read.append(paper.id)
            yield paper

    index = KeywordIndex("seeds", stream)
    assert read == [p.id for p in papers] == index.ids
    whole = bm25s.BM25()
    whole.index(_tokenize([f"{p.title}\n{p.abstract}" if p.has_title else p.abstract for p in papers]), show_progress=False)
    for paper in papers[:40]:
        query = _tokenize([paper.title])
        ours, theirs = index.bm25.retrieve(query, k=10, show_progress=False), whole.retrieve(query, k=10, show_progress=False)
        assert ours[0][0].tolist() == theirs[0][0].tolist(), paper.title
        assert ours[1][0].tolist() == pytest.approx(theirs[1][0].tolist(), rel=1e-6), paper.title


def test_the_lean_column_builder_matches_bm25s_own() -> None:
    import numpy as np
    from bm25s.scoring import _np_csc_python

    from assistant.retrieve import _lean_csc

    rng = np.random.default_rng(7)
    for docs, vocab in [(1, 1), (60, 25), (3000, 700)]:
        cols = [rng.choice(vocab, size=int(rng.integers(1, min(vocab, 40) + 1)), replace=False) for _ in range(docs)]
        rows = np.concatenate([np.full(len(c), d, np.int32) for d, c in enumerate(cols)])
        col = np.concatenate(cols).astype(np.int32)
        data = rng.random(len(rows)).astype(np.float32)
        for theirs, ours in zip(_np_csc_python(data, rows, col, (docs, vocab)), _lean_csc(data, rows, col, (docs, vocab))):
            assert np.array_equal(theirs, ours)


KEYWORD_ONLY = """
import json, sys
from assistant.retrieve import KeywordIndex
from assistant.types import Paper
papers = [Paper(id="a", title="Kernels", abstract="The neural tangent kernel."), Paper(id="b", title="Other", abstract="Diffusion.")]
index = KeywordIndex("v1", lambda: papers)
print(json.dumps([index.search("tangent kernel", 2), sorted(m for m in ("numba", "scipy.sparse") if m in sys.modules)]))
"""


def test_keyword_search_loads_neither_numba_nor_scipy_sparse() -> None:
    """bm25s imports them when installed, but its numpy backend (every index here) never calls them:
    a start that does not load them is 0.3 s quicker, and ranks and scores the same."""
    import json
    import subprocess
    import sys

    from assistant.retrieve import KeywordIndex
    from assistant.types import Paper

    out = subprocess.run([sys.executable, "-c", KEYWORD_ONLY], capture_output=True, text=True, check=True)
    hits, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    papers = [Paper(id="a", title="Kernels", abstract="The neural tangent kernel."), Paper(id="b", title="Other", abstract="Diffusion.")]
    assert loaded == []
    assert [tuple(hit) for hit in hits] == KeywordIndex("v1", lambda: papers).search("tangent kernel", 2)


RANKINGS = """
import json, sys
from assistant.api import Assistant
from assistant.config import Settings
a = Assistant(Settings(store_dir=sys.argv[1]), auto_ingest=False)
questions = [json.loads(line)["question"] for line in open(sys.argv[2]) if line.strip()]
print(json.dumps({q: [p.paper_id for p in a.retrieve(q, k=10, mode="dense")] for q in questions}))
"""


@pytest.mark.slow
def test_dense_rankings_are_the_same_in_every_process(seeded_store: Path) -> None:
    """Chroma rebuilds its HNSW graph in a random order per process; the search must still be exact."""
    import json
    import subprocess
    import sys

    from conftest import QUESTIONS

    runs = [
        json.loads(subprocess.run([sys.executable, "-c", RANKINGS, str(seeded_store), str(QUESTIONS)],
                                  capture_output=True, text=True, check=True, timeout=300).stdout)
        for _ in range(2)
    ]
    assert len(runs[0]) >= 80
    assert runs[0] == runs[1]


def test_a_store_built_with_chromas_default_search_depth_is_made_exact(store_copy: Path) -> None:
    from assistant.config import Settings
    from assistant.store import EF_LARGE, EF_SEARCH, Store, ef_for

    store = Store(Settings(store_dir=store_copy))
    store.chunks.modify(configuration={"hnsw": {"ef_search": 100}})  # as stores built before
    reopened = Store(Settings(store_dir=store_copy))
    assert reopened.chunks.count() <= EF_SEARCH and reopened.chunks.configuration["hnsw"]["ef_search"] == EF_SEARCH
    # past EF_SEARCH vectors the graph is kept on disk and searched at EF_LARGE
    assert (ef_for(EF_SEARCH), ef_for(EF_SEARCH + 1), ef_for(10**6)) == (EF_SEARCH, EF_LARGE, EF_LARGE)


def test_a_collection_past_the_exact_size_is_searched_at_the_large_depth(tmp_path: Path) -> None:
    import numpy as np

    from assistant.config import Settings
    from assistant.store import EF_LARGE, EF_SEARCH, Store

    store = Store(Settings(store_dir=tmp_path / "store"))
    assert store.chunks.configuration["hnsw"]["ef_search"] == EF_SEARCH  # empty: exact
    n = EF_SEARCH + 1
    vectors = np.random.default_rng(0).normal(size=(n, 384)).astype(np.float32)
    store.chunks.add(ids=[f"p{i}:c0" for i in range(n)], embeddings=vectors, metadatas=[{"paper_id": f"p{i}"} for i in range(n)])
    reopened = Store(Settings(store_dir=tmp_path / "store"))
    assert reopened.chunks.configuration["hnsw"]["ef_search"] == EF_LARGE
    assert reopened.papers.configuration["hnsw"]["ef_search"] == EF_SEARCH  # each collection by its own size
    hits = reopened.search_chunks(vectors[5].tolist(), 10)
    assert hits[0][0] == "p5" and len(hits) == 10


def test_an_ingest_sets_the_search_depth_for_the_size_it_reaches_before_it_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chroma reads ef_search when a process first loads a collection's index: set after the first write it
    would only hold for the next process, and the searches right after an ingest would run at the old depth."""
    from chromadb.api.models.Collection import Collection

    import assistant.store as store_module
    from assistant.api import Assistant
    from assistant.config import Settings
    from assistant.store import EF_LARGE, Store

    monkeypatch.setattr(store_module, "EF_SEARCH", 3)  # "large" from four vectors on
    seeds = tmp_path / "mine"
    seeds.mkdir()
    (seeds / "a.txt").write_text("".join(f"Abstract:We study kernels of width {n} in depth. Wider kernels train faster on standard benchmarks while using fewer parameters than prior work in case {n}. Experiments on {n} data sets confirm the analysis.\n" for n in range(5)))
    events: list[str] = []
    real_add, real_modify = Collection.add, Collection.modify
    monkeypatch.setattr(Collection, "add", lambda self, *a, **k: events.append(f"add {self.name}") or real_add(self, *a, **k))
    monkeypatch.setattr(Collection, "modify", lambda self, *a, **k: events.append(f"modify {self.name}") or real_modify(self, *a, **k))
    a = Assistant(Settings(store_dir=tmp_path / "s", seeds_dir=seeds))
    a.ingest()
    assert a.paper_count() == 5 and events.index("modify chunks") < events.index("add chunks"), events
    assert Store(Settings(store_dir=tmp_path / "s")).chunks.configuration["hnsw"]["ef_search"] == EF_LARGE
    assert len(a.retrieve("kernels and widths", k=5)) == 5


def test_zscore_fusion_standardises_each_list_and_fills_a_missing_score_with_the_lowest() -> None:
    from assistant.retrieve import Signals, fuse_rrf, fuse_zscore

    signals = {
        "a": Signals(scores={"chunks": 0.9, "bm25": 2.0}),
        "b": Signals(scores={"chunks": 0.5, "bm25": 10.0}),
        "c": Signals(scores={"chunks": 0.7}),  # BM25 did not return it: it scores BM25's lowest (2.0)
        "d": Signals(scores={"sentences": 0.8}),  # only in a list weighted 0: not ranked
    }
    fused = dict(fuse_zscore(signals, {"chunks": 0.5, "sentences": 0.0, "bm25": 0.5}))
    assert set(fused) == {"a", "b", "c"}
    # chunks z: a +1.22, b -1.22, c 0; bm25 z over (2, 10): a -1, b +1; c filled with 2.0 -> -1
    assert fused["a"] == pytest.approx(0.5 * 1.2247 - 0.5, abs=1e-3)
    assert fused["b"] == pytest.approx(-0.5 * 1.2247 + 0.5, abs=1e-3)
    assert fused["c"] == pytest.approx(-0.5, abs=1e-3)
    assert [pid for pid, _ in fuse_zscore(signals, {"chunks": 1.0})] == ["a", "c", "b"]
    assert fuse_zscore({}, {"chunks": 1.0}) == [] and fuse_rrf({}, {"chunks": 1.0}, 60) == []



def test_a_name_in_one_abstract_finds_it_first(assistant: Assistant) -> None:
    """BM25 returns every paper holding a word of the question; the others score 0, and fusion counts them so.
    "SaRA" is in one abstract: z-scored over that one paper alone it stood level with the rest (0), and the
    dense lists' noise ranked MgNO first; "MemControl vs SaRA" then never saw SaRA."""
    signals = assistant.retrieve("SaRA", k=3)
    assert signals[0].title.startswith("SaRA:"), [p.title for p in signals]
    assert assistant.retrieve("SaRA", k=3, mode="bm25")[0].title.startswith("SaRA:")  # as BM25 alone ranks it


@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_one_vector_query_per_question_where_stock_does_one(assistant: Assistant, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sentence signal comes from the sentence matrix, scored exactly for the papers found: the only
    vector search of a question is the chunk search."""
    from chromadb.api.models.Collection import Collection

    searched: list[str] = []
    original = Collection.query

    def counted(self: Collection, *args: object, **kwargs: object) -> object:
        searched.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Collection, "query", counted)
    passages = assistant.retrieve("How do they calibrate uncertainty in language models?", k=5, mode=mode)
    assert searched == ["chunks"] and len(passages) == 5
    best = {p.paper_id: p for p in passages}
    sentence_scores = assistant._ready().sentences.best(list(best), assistant.embedder.get_query_embedding(
        "How do they calibrate uncertainty in language models?"))
    assert set(sentence_scores) == set(best)  # every retrieved paper had its sentences scored


def test_each_thread_stems_with_its_own_stemmer() -> None:
    """A PyStemmer stemmer keeps a cache and is not safe to share; the page answers several questions at once."""
    import threading

    from assistant import text

    seen: list[object] = []
    worker = threading.Thread(target=lambda: seen.append(text._stemmer().__self__))  # type: ignore[attr-defined]
    worker.start()
    worker.join()
    assert seen and seen[0] is not text._stemmer().__self__  # type: ignore[attr-defined]
    assert text._stemmer() is text._stemmer()  # and one made once per thread
