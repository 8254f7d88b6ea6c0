"""Incremental, crash-safe ingestion into a real on-disk Chroma store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import SEEDS

from assistant.api import Assistant
from assistant.config import Settings
from assistant.corpus import FORMATS
from assistant.errors import ConfigError, StoreError
from assistant.index import Indexer
from assistant.store import JOURNAL, Store
from assistant.types import Paper

TEMPLATE = (
    "Abstract:We study topic {n} in depth. The method for topic {n} improves accuracy on standard benchmarks "
    "while using fewer parameters than prior work. Experiments on {n} data sets confirm the analysis.\n"
)


def _write(folder: Path, names: list[int]) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "a.txt").write_text("".join(TEMPLATE.format(n=n) for n in names))


def test_second_ingest_embeds_nothing_then_updates_and_removes(tmp_path: Path) -> None:
    seeds = tmp_path / "mine"
    _write(seeds, [1, 2, 3])
    settings = Settings(store_dir=tmp_path / "s", seeds_dir=seeds)
    first = Assistant(settings).ingest()
    assert (first.new, first.unchanged, first.chunks_embedded) == (3, 0, 3)
    again = Assistant(settings).ingest()
    assert (again.new, again.updated, again.unchanged, again.removed, again.chunks_embedded) == (0, 0, 3, 0, 0)
    assert "nothing embedded" in again.summary()
    _write(seeds, [1, 2, 4])
    third = Assistant(settings).ingest()
    assert (third.new, third.unchanged, third.removed) == (1, 2, 1)
    store = Store(settings)
    assert store.count() == 3
    ids = set(store.stored())
    chunk_ids = {m["paper_id"] for m in store.chunks.get(include=["metadatas"])["metadatas"]}
    assert chunk_ids == ids  # no orphans left by the removal


def test_a_paper_in_two_files_ingested_apart_keeps_what_each_says(tmp_path: Path) -> None:
    """An arXiv metadata file, then a .bib of the same paper: each ingest replaced the record with the last file's
    (the .bib took the arXiv link and categories away, the arXiv file the venue and key), and flipped back at the
    next; files read together were combined (corpus.merge)."""
    abstract = ("The dominant sequence transduction models are based on complex recurrent networks. We propose the "
                "Transformer, based solely on attention, and show it trains faster.")
    arxiv, bib = tmp_path / "arxiv.jsonl", tmp_path / "mine.bib"
    arxiv.write_text(json.dumps({"id": "1706.03762", "title": "Attention Is All You Need", "authors": "A. Vaswani, N. Shazeer",
                                 "categories": "cs.CL cs.LG", "abstract": abstract}) + "\n")
    bib.write_text("@inproceedings{vaswani2017attention, title = {Attention is All you Need},\n"
                   "  author = {Vaswani, Ashish and Shazeer, Noam and Parmar, Niki}, year = {2017},\n"
                   f"  booktitle = {{Advances in Neural Information Processing Systems}}, abstract = {{{abstract}}}}}\n")
    settings = Settings(store_dir=tmp_path / "s", seeds_dir=tmp_path / "none")
    together = Assistant(Settings(store_dir=tmp_path / "t", seeds_dir=tmp_path / "none"))
    together.ingest([arxiv, bib])
    (expected,) = together.papers()
    for path in (arxiv, bib, arxiv, bib):
        report = Assistant(settings).ingest([path])
        (paper,) = Assistant(settings).papers()
    assert (report.new, report.updated) == (0, 0)  # settled: the same record whichever file comes last
    assert paper.url == "https://arxiv.org/abs/1706.03762" and paper.categories == ["cs.CL", "cs.LG"]
    assert paper.venue == "Advances in Neural Information Processing Systems" and paper.key == "vaswani2017attention"
    assert (paper.year, paper.work_type, len(paper.authors), paper.title) == (2017, "conference", 3, "Attention is All you Need")
    for field in ("url", "categories", "venue", "year", "work_type", "authors", "title", "key"):
        assert getattr(paper, field) == getattr(expected, field), field  # as if read together
    # a correction to one file takes effect: its authors and year, not the record's old ones
    bib.write_text(bib.read_text().replace(" and Parmar, Niki", "").replace("2017", "2018"))
    Assistant(settings).ingest([bib])
    (paper,) = Assistant(settings).papers()
    assert (paper.authors, paper.year) == (["Ashish Vaswani", "Noam Shazeer"], 2018)
    assert paper.url == "https://arxiv.org/abs/1706.03762"  # what the other file gives stays


def test_a_file_ingested_again_keeps_the_names_of_the_other_files_holding_its_papers(tmp_path: Path) -> None:
    """x and z, then y, then z again, all holding one paper: its sources became [x, z] (y lost), because the
    sources (in reading order) were paired with the sorted paths."""
    folder = tmp_path / "r"
    folder.mkdir()
    record = json.dumps({"title": "One paper", "abstract": TEMPLATE.format(n=7).removeprefix("Abstract:")}) + "\n"
    for name in ("x.jsonl", "z.jsonl", "y.jsonl"):
        (folder / name).write_text(record)
    settings = Settings(store_dir=tmp_path / "s", seeds_dir=tmp_path / "none")
    Assistant(settings).ingest([folder / "x.jsonl", folder / "z.jsonl"])
    Assistant(settings).ingest([folder / "y.jsonl"])
    (paper,) = Assistant(settings).papers()
    assert paper.sources == ["x.jsonl", "z.jsonl", "y.jsonl"]
    Assistant(settings).ingest([folder / "z.jsonl"])
    (paper,) = Assistant(settings).papers()
    assert sorted(paper.sources) == ["x.jsonl", "y.jsonl", "z.jsonl"]


def test_adding_a_file_keeps_the_seeds(tmp_path: Path, store_copy: Path) -> None:
    extra = tmp_path / "extra.jsonl"
    extra.write_text(json.dumps({"title": "Purring kittens", "abstract": TEMPLATE.format(n=9)[9:]}) + "\n")
    a = Assistant(Settings(store_dir=store_copy))
    report = a.ingest([extra])
    assert (report.new, report.removed) == (1, 0)
    assert len(a.papers()) == 75
    assert a.retrieve("purring kittens", k=1)[0].title == "Purring kittens"
    assert a.ingest().summary().startswith("0 new, 0 updated, 74 unchanged, 0 removed")
    assert len(a.papers()) == 75


def test_store_built_with_other_settings_is_refused(store_copy: Path) -> None:
    with pytest.raises(StoreError, match="ingest --rebuild") as refused:
        Store(Settings(store_dir=store_copy, chunk_size=200))
    assert "ASSISTANT_EMBED_PRECISION" not in str(refused.value)


def test_a_store_of_the_other_precision_names_the_setting_that_keeps_it(store_copy: Path) -> None:
    built = Settings(store_dir=store_copy).embed_precision
    other = "fp32" if built == "int8" else "int8"
    with pytest.raises(StoreError, match=f"ingest --rebuild.*ASSISTANT_EMBED_PRECISION={built}"):
        Store(Settings(store_dir=store_copy, embed_precision=other))


def test_foreign_directory_is_refused_and_left_alone(tmp_path: Path) -> None:
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"meow")
    with pytest.raises(StoreError, match="not an Abstract Assistant store"):
        Store(Settings(store_dir=foreign))
    assert [p.name for p in foreign.iterdir()] == ["cat.jpg"]


def test_corrupt_store_says_how_to_rebuild(tmp_path: Path) -> None:
    store = tmp_path / "s"
    store.mkdir()
    (store / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="ingest --rebuild"):
        Store(Settings(store_dir=store))
    seeds = tmp_path / "mine"
    _write(seeds, [1])
    report = Assistant(Settings(store_dir=store, seeds_dir=seeds)).ingest(rebuild=True)
    assert report.new == 1
    # Its records are lost with it: the rebuild says so, without counting that as a skipped file.
    assert report.skipped == 0 and any("could not be read" in i.message for i in report.issues)


def test_rebuild_embeds_every_paper_again_and_counts_what_it_drops(tmp_path: Path) -> None:
    """A rebuild is not "start again from the seeds": papers added from other files, even files gone since
    (a page upload's temporary copy), come back from their records; one the re-read seeds no longer hold is
    removed and counted."""
    seeds, extra = tmp_path / "mine", tmp_path / "upload"
    _write(seeds, [1, 2])
    extra.mkdir()
    (extra / "b.txt").write_text(TEMPLATE.format(n=7))
    settings = Settings(store_dir=tmp_path / "s", seeds_dir=seeds)
    a = Assistant(settings)
    a.ingest()
    a.ingest([extra / "b.txt"])
    held = {p.id: p for p in a.papers()}
    assert len(held) == 3
    shutil.rmtree(extra)  # the uploaded file is gone
    _write(seeds, [1])  # and the seeds no longer hold topic 2

    report = Assistant(settings).ingest(rebuild=True)
    assert (report.new, report.removed) == (2, 1)
    after = {p.id: p for p in Assistant(settings).papers()}
    assert set(after) == set(held) - {p.id for p in held.values() if "topic 2" in p.abstract}
    kept = next(p for p in after.values() if "topic 7" in p.abstract)
    assert kept == next(p for p in held.values() if "topic 7" in p.abstract)  # its record, unchanged
    assert Assistant(settings).retrieve("topic 7", k=1)[0].paper_id == kept.id  # and embedded again


def test_a_rebuild_keeps_what_files_it_did_not_read_said_of_a_paper_it_read(tmp_path: Path) -> None:
    """A paper in the seeds and in the user's .bib: a bare `ingest --rebuild` reads the seeds only, and the paper
    came back as the seeds' plain text gave it, without the authors, year, venue and source its .bib gave."""
    seeds, mine = tmp_path / "seeds", tmp_path / "mine"
    _write(seeds, [1, 2])
    mine.mkdir()
    abstract = TEMPLATE.format(n=1).removeprefix("Abstract:").strip()
    (mine / "lib.bib").write_text(
        "@inproceedings{rivera2021topic,\n  title = {Topic One},\n  author = {Rivera, Ana and Chen, Bo},\n"
        f"  year = {{2021}},\n  booktitle = {{NeurIPS}},\n  abstract = {{{abstract}}}\n}}\n"
    )
    settings = Settings(store_dir=tmp_path / "s", seeds_dir=seeds)
    Assistant(settings).ingest()
    Assistant(settings).ingest([mine / "lib.bib"])
    before = {p.id: p for p in Assistant(settings).papers()}
    rich = next(p for p in before.values() if p.year == 2021)
    assert rich.authors == ["Ana Rivera", "Bo Chen"] and rich.venue == "NeurIPS" and len(rich.sources) == 2

    Assistant(settings).ingest(rebuild=True)

    def record(p: Paper) -> dict[str, object]:
        return p.model_dump() | {"sources": sorted(p.sources)}  # sources in the order they were read

    assert {p.id: record(p) for p in Assistant(settings).papers()} == {pid: record(p) for pid, p in before.items()}


def test_a_bare_rebuild_of_a_store_holding_no_seed_adds_none(tmp_path: Path) -> None:
    """A store of the user's own files only: a bare `ingest --rebuild` (as a settings change asks for) added every
    seed paper to it (5 papers became 75). It embeds the papers it holds again and reads the seeds only for a
    store that held some of them."""
    seeds, mine = tmp_path / "seeds", tmp_path / "mine"
    _write(seeds, [1, 2])
    _write(mine, [5, 6, 7])
    settings = Settings(store_dir=tmp_path / "s", seeds_dir=seeds)
    Assistant(settings).ingest([mine])
    before = {p.id for p in Assistant(settings).papers()}
    report = Assistant(settings).ingest(rebuild=True)
    assert {p.id for p in Assistant(settings).papers()} == before and (report.new, report.removed) == (3, 0)
    Assistant(settings).ingest()  # the seeds, asked for
    with_seeds = {p.id for p in Assistant(settings).papers()}
    assert len(with_seeds) == 5
    _write(seeds, [1])  # a store holding seeds reads them again on a bare rebuild: topic 2 is gone from them
    Assistant(settings).ingest(rebuild=True)
    assert len({p.id for p in Assistant(settings).papers()}) == 4


def test_a_model_that_cannot_load_changes_no_store(tmp_path: Path) -> None:
    """`ingest --rebuild` with a mistyped ASSISTANT_EMBED_MODEL emptied the store and stamped it with the typo (every
    later command refused it), and a first ingest stamped a new store so: the model is loaded before either."""
    seeds = tmp_path / "mine"
    _write(seeds, [1, 2])
    good = Settings(store_dir=tmp_path / "s", seeds_dir=seeds)
    Assistant(good).ingest()
    held = {p.id for p in Assistant(good).papers()}
    for store in (good.store_dir, tmp_path / "new"):
        bad = Settings(store_dir=store, seeds_dir=seeds, embed_model=str(tmp_path / "no-such-model"))
        with pytest.raises(ConfigError, match="no-such-model"):
            Assistant(bad).ingest(rebuild=store == good.store_dir)
    assert {p.id for p in Assistant(good).papers()} == held
    assert not (tmp_path / "new").exists()
    assert len(Assistant(Settings(store_dir=tmp_path / "new", seeds_dir=seeds)).papers()) == 2  # the new store is no other model's


def test_a_rebuild_leaves_no_copy_of_the_old_vectors_on_disk(tmp_path: Path) -> None:
    """Chroma's delete_collection kept each deleted collection's index folder: every rebuild grew the store by
    a full copy of its vectors (3 folders, then 6, then 9)."""
    import uuid

    seeds = tmp_path / "mine"
    _write(seeds, [1, 2, 3])
    settings = Settings(store_dir=tmp_path / "s", seeds_dir=seeds)
    Assistant(settings).ingest()

    def folders() -> set[str]:
        return {p.name for p in settings.store_dir.iterdir() if p.is_dir() and p.name.count("-") == 4}

    before = folders()
    assert before and all(str(uuid.UUID(name)) == name for name in before)
    (settings.store_dir / "notes").mkdir()  # a folder not named as a segment is not Chroma's to sweep
    for _ in range(2):
        Assistant(settings).ingest(rebuild=True)
        after = folders()
        assert len(after) == len(before) and not after & before
        before = after
    assert (settings.store_dir / "notes").is_dir()
    assert Assistant(settings).retrieve("topic 2", k=1)  # the new index answers


def test_a_killed_rebuild_loses_no_paper(tmp_path: Path) -> None:
    """A rebuild removes the store's records before it embeds them again: they wait in a file beside the
    store until it has, so the next ingest after a kill brings back what was left."""
    seeds, extra = tmp_path / "mine", tmp_path / "upload.txt"
    _write(seeds, [1, 2])
    extra.write_text(TEMPLATE.format(n=7))
    settings = Settings(store_dir=tmp_path / "s", seeds_dir=seeds)
    Assistant(settings).ingest()
    Assistant(settings).ingest([extra])
    extra.unlink()
    before = {p.id: p for p in Assistant(settings).papers()}

    Store(settings, rebuild=True)  # the rebuild is killed right after removing the collections
    assert Store(settings).count() == 0 and (tmp_path / "s" / "rebuild-pending.jsonl").exists()
    report = Assistant(settings).ingest()  # a plain ingest resumes it
    assert (report.new, report.removed) == (3, 0)
    assert {p.id: p for p in Assistant(settings).papers()} == before
    assert not (tmp_path / "s" / "rebuild-pending.jsonl").exists()
    # and a store that turns unreadable meanwhile keeps the file for the rebuild that follows
    Store(settings, rebuild=True)
    (tmp_path / "s" / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    report = Assistant(settings).ingest(rebuild=True)
    assert report.new == 3 and {p.id for p in Assistant(settings).papers()} == set(before)


def test_interrupted_ingest_leaves_no_orphans(tmp_path: Path) -> None:
    seeds = tmp_path / "mine"
    _write(seeds, [1, 2])
    settings = Settings(store_dir=tmp_path / "s", seeds_dir=seeds)
    Assistant(settings).ingest()
    store = Store(settings)
    # Simulate a kill between writing a paper's vectors and its record.
    from llama_index.core.schema import TextNode

    orphan = TextNode(id_="ghost:c0", text="ghost", embedding=[0.1] * 384, metadata={"paper_id": "ghost", "position": 0})
    store.vector_store("chunks").add([orphan])
    (Path(settings.store_dir) / JOURNAL).write_text(json.dumps(["ghost"]))
    Assistant(settings).ingest()
    metas = Store(settings).chunks.get(include=["metadatas"])["metadatas"]
    assert "ghost" not in {m["paper_id"] for m in metas}
    assert not (Path(settings.store_dir) / JOURNAL).exists()


def test_a_failed_write_stops_the_ingest_before_the_next_group_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error in a group's write reaches the caller, no later group is written, and a rerun completes
    from the journal."""
    seeds = tmp_path / "mine"
    _write(seeds, [1, 2, 3, 4])
    settings = Settings(store_dir=tmp_path / "s", seeds_dir=seeds, ingest_batch=1)
    writes: list[int] = []
    real = Store.add_nodes

    def failing(self: Store, chunks: list[object], sentences: dict[str, object]) -> None:
        writes.append(len(chunks))
        if len(writes) == 2:
            raise RuntimeError("disk full")
        real(self, chunks, sentences)  # type: ignore[arg-type]

    monkeypatch.setattr(Store, "add_nodes", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        Assistant(settings).ingest()
    assert len(writes) == 2
    monkeypatch.undo()
    assert len(Store(settings).stored()) == 1 and (Path(settings.store_dir) / JOURNAL).exists()
    report = Assistant(settings).ingest()
    assert (report.new, report.unchanged) == (3, 1)
    assert not (Path(settings.store_dir) / JOURNAL).exists()


def test_chunks_fill_the_embedding_window_and_no_sentence_is_cut_off(assistant: Assistant) -> None:
    from transformers import AutoTokenizer

    from assistant.providers import EMBED_MAX_TOKENS, embed_model_path

    indexer = Indexer(assistant._open_store(), assistant.embedder, assistant.settings)
    wordpieces = AutoTokenizer.from_pretrained(str(embed_model_path(assistant.settings.embed_model)))
    lengths, chunk_counts = [], []
    for paper in assistant.papers():
        chunks = indexer.chunk_texts(paper)
        chunk_counts.append(len(chunks))
        for chunk in chunks:
            lengths.append(len(wordpieces(indexer.embed_text(paper, chunk), verbose=False)["input_ids"]))
        assert "".join(chunks).replace(" ", "") == paper.abstract.replace(" ", "")  # no overlap, nothing lost
    assert max(lengths) <= EMBED_MAX_TOKENS  # the model reads every chunk whole
    assert max(lengths) >= EMBED_MAX_TOKENS - 16  # and the window is used, not a fixed smaller size
    assert max(chunk_counts) <= 3 and sum(c == 1 for c in chunk_counts) >= len(chunk_counts) // 10


def test_a_chunk_size_beyond_the_model_window_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ASSISTANT_CHUNK_SIZE=300 .* window of 254"):
        Indexer(None, None, Settings(store_dir=tmp_path / "s", chunk_size=300))  # type: ignore[arg-type]

def test_stored_reads_every_record_a_page_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import assistant.store as store_module

    seeds = tmp_path / "mine"
    _write(seeds, [1, 2, 3, 4, 5])
    settings = Settings(store_dir=tmp_path / "s", seeds_dir=seeds)
    Assistant(settings).ingest()
    calls: list[int] = []
    store = Store(settings)
    real_get = store.papers.get
    monkeypatch.setattr(store_module, "PAGE", 2)
    monkeypatch.setattr(store.papers, "get", lambda **kw: calls.append(kw["offset"]) or real_get(**kw))
    assert len(store.stored()) == 5 and calls == [0, 2, 4]  # five records in pages of two


def test_the_keyword_index_and_term_weights_are_rebuilt_from_one_read_of_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an ingest both caches are stale; the pass that builds the keyword index counts the term weights
    on the way (at 100k papers a read of every record is tens of seconds)."""
    from assistant.answer import TermWeights

    seeds = tmp_path / "mine"
    _write(seeds, [1, 2, 3, 4, 5])
    settings = Settings(store_dir=tmp_path / "s", seeds_dir=seeds)
    passes: list[int] = []
    real = Store.iter_stored

    def counting(self: Store, limit: int | None = None) -> object:
        passes.append(1)
        return real(self, limit)

    monkeypatch.setattr(Store, "iter_stored", counting)
    a = Assistant(settings)
    a.ingest()
    a.retrieve("paper 3")
    assert len(passes) == 1
    store = Store(settings)
    weights = json.loads(store.layout.term_df.read_text())
    direct = TermWeights([sp.paper for sp in real(store)])
    assert (weights["n"], weights["df"]) == (direct.n, direct.df) and direct.n == 5
    store.layout.term_df.unlink()  # only the term weights gone: counted by a pass of their own
    passes.clear()
    Assistant(settings).retrieve("paper 3")
    assert len(passes) == 1 and json.loads(store.layout.term_df.read_text())["df"] == direct.df


def test_an_ingest_diffs_against_the_stored_metadata_without_reading_abstracts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 100k papers every record whole was ~1 GB on top of the parsed files: the diff needs ids, hashes,
    sources and paths, read a page at a time without documents."""
    import assistant.store as store_module

    seeds = tmp_path / "mine"
    _write(seeds, [1, 2, 3, 4, 5])
    settings = Settings(store_dir=tmp_path / "s", seeds_dir=seeds)
    Assistant(settings).ingest()
    includes: list[list[str]] = []
    real_get = store_module.Store.stored_meta

    def spying(self: Store) -> object:
        real = self.papers.get
        self.papers.get = lambda **kw: includes.append(kw["include"]) or real(**kw)  # type: ignore[method-assign]
        try:
            return real_get(self)
        finally:
            self.papers.get = real  # type: ignore[method-assign]

    monkeypatch.setattr(store_module, "PAGE", 2)
    monkeypatch.setattr(store_module.Store, "stored_meta", spying)
    monkeypatch.setattr(store_module.Store, "stored", lambda self, limit=None: pytest.fail("read every record whole"))
    _write(seeds, [1, 2, 3, 6])
    report = Assistant(settings, auto_ingest=False).ingest()
    assert (report.new, report.unchanged, report.removed) == (1, 3, 2)
    assert includes == [["metadatas"]] * 3  # pages of two over five records, no documents


def test_a_start_reads_no_paper_records_once_an_ingest_has_finished(
    store_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.store import corpus_fingerprint

    store = Store(Settings(store_dir=store_copy))
    every = store.stored()
    assert store.saved_fingerprint() == corpus_fingerprint({pid: sp.paper.content_hash for pid, sp in every.items()})

    def read_all(self: Store) -> object:
        raise AssertionError("a start read every paper record")

    monkeypatch.setattr(Store, "stored", read_all)
    a = Assistant(Settings(store_dir=store_copy))
    answer = a.ask("What does the neural tangent kernel describe?")
    assert answer.citations and a.paper_count() == 74
    # questions that mention authors or capitalised titles are not listings: no record is read for them
    assert a.ask("What do the authors of 'Intriguing Properties of Adversarial Examples' argue is the main origin of adversarial examples?").citations
    assert "no author list" in a.ask("Who wrote the paper on the Neural Tangent Kernel?").text
    assert a.paper(answer.citations[0].paper_id) == every[answer.citations[0].paper_id].paper
    assert a.paper("no-such-id") is None


def test_an_unfinished_ingest_makes_the_next_start_read_the_records(store_copy: Path) -> None:
    from assistant.catalog import Catalog

    store = Store(Settings(store_dir=store_copy))
    saved = store.saved_fingerprint()
    store.save_fingerprint("")  # what a killed ingest leaves behind
    assert store.saved_fingerprint() is None
    assert store.client.get_collection("papers").configuration["hnsw"]["space"] == "cosine"  # kept by the modify
    catalog = Catalog(store)
    assert catalog.fingerprint == saved and len(catalog.all()) == 74  # computed from the records instead
    assert Assistant(Settings(store_dir=store_copy)).ingest().new == 0  # the next ingest saves it again
    assert Store(Settings(store_dir=store_copy)).saved_fingerprint() == saved


def test_a_schema_3_store_is_migrated_in_place_without_re_embedding(store_copy: Path) -> None:
    """Schema 3 kept one 384-d Chroma record per sentence; opening such a store moves them into one set per
    paper (same texts, same float16 vectors) and drops the old collection: answers stay the same."""
    from assistant.store import LEGACY_SENTENCES, PLACEHOLDER, SENTENCE_SETS

    settings = Settings(store_dir=store_copy, seeds_dir=SEEDS)
    before = sorted(Store(settings).sentence_records(), key=lambda r: (r[0], r[1]))
    question = "What does the neural tangent kernel describe?"
    answer = Assistant(settings).ask(question)
    # Turn the store back into schema 3: per-sentence records, the schema-3 signature, no sets.
    store = Store(settings)
    legacy = store.client.create_collection(LEGACY_SENTENCES, metadata={"hnsw:space": "cosine"}, embedding_function=None)
    legacy.add(
        ids=[f"{pid}:s{pos}" for pid, pos, _, _ in before],
        embeddings=[[float(x) for x in vector] for *_, vector in before],
        documents=[text for _, _, text, _ in before],
        metadatas=[{"paper_id": pid, "position": pos, "kind": "sentence"} for pid, pos, _, _ in before],
    )
    store.client.delete_collection(SENTENCE_SETS)
    kept = {k: v for k, v in (store.papers.metadata or {}).items() if not k.startswith("hnsw:")}
    store.papers.modify(metadata={**kept, "schema": "3"})
    for name in ("sentence-matrix",):
        shutil.rmtree(store_copy / name, ignore_errors=True)

    migrated = Store(settings)
    names = {c if isinstance(c, str) else c.name for c in migrated.client.list_collections()}
    assert LEGACY_SENTENCES not in names and SENTENCE_SETS in names
    assert migrated.papers.metadata["schema"] == "4"
    after = sorted(migrated.sentence_records(), key=lambda r: (r[0], r[1]))
    assert [(p, i, t) for p, i, t, _ in after] == [(p, i, t) for p, i, t, _ in before]
    assert all(np.array_equal(np.asarray(a[3]), np.asarray(b[3])) for a, b in zip(after, before))
    assert migrated.sentence_sets.get(ids=[after[0][0]], include=["embeddings"])["embeddings"][0].tolist() == PLACEHOLDER
    again = Assistant(settings).ask(question)
    assert (again.text, [c.quote for c in again.citations]) == (answer.text, [c.quote for c in answer.citations])


def test_a_folder_is_read_with_its_subfolders_and_each_file_named_from_the_folder(tmp_path: Path) -> None:
    """`ingest mix` read mix/ and silently left mix/sub/ out; hidden folders (.git) and __pycache__ stay out."""
    seeds = tmp_path / "mine"
    _write(seeds, [1])
    (seeds / "sub").mkdir()
    (seeds / "sub" / "b.txt").write_text(TEMPLATE.format(n=2))
    (seeds / "sub" / "notes.docx").write_bytes(b"PK\x03\x04")
    for hidden in (".git", "__pycache__"):
        (seeds / hidden).mkdir()
        (seeds / hidden / "c.txt").write_text(TEMPLATE.format(n=3))
        (seeds / hidden / "x.pyc").write_bytes(b"\x00")
    settings = Settings(store_dir=tmp_path / "s", seeds_dir=seeds)
    first = Assistant(settings).ingest()
    assert first.new == 2 and [str(i) for i in first.issues] == [
        "sub/notes.docx: skipped: not a format we read (" + FORMATS + ")"
    ]
    assert sorted(tuple(p.sources) for p in Assistant(settings).papers()) == [("a.txt",), ("sub/b.txt",)]
    (seeds / "sub" / "b.txt").write_text(TEMPLATE.format(n=4))  # a file in the subfolder is tracked by its path
    again = Assistant(settings).ingest()
    assert (again.new, again.unchanged, again.removed) == (1, 1, 1)
