"""Filters by year, author and category, applied inside both searches: top k are k matching papers."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SEEDS

from assistant.api import Assistant
from assistant.cli import main
from assistant.config import Settings
from assistant.corpus import load_corpus
from assistant.errors import ConfigError
from assistant.filters import Filters
from assistant.text import split_sentences
from assistant.types import Paper

AUTHORS = [["Ana Rivera", "Bo Chen"], ["Bo Chen"], ["Carla Diaz"], ["Dan Rivers"]]
VENUES = [
    "Advances in Neural Information Processing Systems 34",
    "Proceedings of the 38th International Conference on Machine Learning",
    "ICML 2021 Workshop on Theory",
    None,
    "Journal of Machine Learning Research",
]


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """24 seed abstracts with years 2015..2024, four author sets and two categories assigned in turn."""
    folder = tmp_path_factory.mktemp("library")
    papers = load_corpus([SEEDS]).papers[:24]
    rows = [
        {"title": p.title, "abstract": p.abstract, "authors": AUTHORS[i % 4], "year": 2015 + i % 10,
         "categories": ["stat.ML" if i % 3 == 0 else "cs.LG"], "venue": VENUES[i % 5]}
        for i, p in enumerate(papers)
    ]
    (folder / "library.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    Assistant(Settings(store_dir=folder / "store", seeds_dir=folder)).ingest()
    yield folder / "store"


@pytest.fixture(scope="module")
def lib_assistant(library: Path) -> Assistant:
    return Assistant(Settings(store_dir=library, seeds_dir=library.parent))


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_a_filtered_search_returns_k_matching_papers(lib_assistant: Assistant, mode: str) -> None:
    filters = Filters.parse("2019..2021")
    found = lib_assistant.retrieve("neural networks training", k=5, mode=mode, filters=filters)  # type: ignore[arg-type]
    years = [lib_assistant.paper(p.paper_id).year for p in found]  # type: ignore[union-attr]
    assert len(found) == 5 and all(2019 <= y <= 2021 for y in years), years  # type: ignore[operator]
    unfiltered = lib_assistant.retrieve("neural networks training", k=5, mode=mode)  # type: ignore[arg-type]
    assert any(not 2019 <= lib_assistant.paper(p.paper_id).year <= 2021 for p in unfiltered)  # type: ignore[union-attr, operator]


def test_author_and_category_filters(lib_assistant: Assistant) -> None:
    by_river = lib_assistant.retrieve("learning", k=10, filters=Filters.parse(authors=["river"]))  # Rivera, Rivers
    names = [lib_assistant.paper(p.paper_id).authors for p in by_river]  # type: ignore[union-attr]
    assert len(by_river) == 10 and all(any("river" in a.lower() for a in n) for n in names)
    only_rivera = lib_assistant.retrieve("learning", k=10, filters=Filters.parse(authors=["Rivera"]))
    assert len(only_rivera) == 6  # every one of her six papers, and no other
    stat = lib_assistant.retrieve("learning", k=8, filters=Filters.parse(authors=["Chen"], categories=["STAT.ML"]))
    for p in stat:
        paper = lib_assistant.paper(p.paper_id)
        assert paper and "stat.ML" in paper.categories and "Bo Chen" in paper.authors
    assert 1 <= len(stat) <= 8
    # an arXiv archive stands for all its categories; a category's first letters do not
    archive = Filters.parse(categories=["stat"])
    assert {p.id for p in lib_assistant.papers() if archive.admits(p)} == {
        p.id for p in lib_assistant.papers() if any(c.lower().startswith("stat.") for c in p.categories)
    } != set()
    assert not any(Filters.parse(categories=["st"]).admits(p) for p in lib_assistant.papers())


def test_answers_cite_only_matching_papers_and_say_when_none_match(lib_assistant: Assistant) -> None:
    answer = lib_assistant.ask("What do these papers show about training?", filters=Filters.parse("2024"))
    assert all(lib_assistant.paper(c.paper_id).year == 2024 for c in answer.citations)  # type: ignore[union-attr]
    none = lib_assistant.ask("What do these papers show about training?", filters=Filters.parse("1990"))
    assert none.abstained and "No paper in the store matches the filters (year 1990)" in none.text
    assert "have no year" not in none.text  # every paper has one: the filter is what to change


def test_when_no_paper_matches_the_answer_says_which_records_lack_the_field(assistant: Assistant) -> None:
    """The seeds give no years: "2021" matches nothing because of the files, which the answer says."""
    none = assistant.ask("What is grokking?", filters=Filters.parse("2021"))
    assert none.text == "No paper in the store matches the filters (year 2021); 74 of its 74 papers have no year; widen or drop them."


def test_year_ranges_parse_and_bad_ones_are_refused() -> None:
    assert (Filters.parse("2019..2021").first_year, Filters.parse("2019..2021").last_year) == (2019, 2021)
    assert (Filters.parse("2020").first_year, Filters.parse("2020").last_year) == (2020, 2020)
    assert (Filters.parse("2019..").last_year, Filters.parse("..2021").first_year) == (None, None)
    assert not Filters.parse(None) and Filters.parse("2020").describe() == "year 2020"
    for bad in ("last year", "2021..2019", "20"):
        with pytest.raises(ConfigError):
            Filters.parse(bad)


def test_the_cli_filters_and_refuses_a_bad_year(
    library: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(library))
    assert main(["retrieve", "training", "-k", "3", "--author", "Diaz", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert len(found) == 3
    assert main(["ask", "What is shown?", "--year", "soon"]) == 2
    assert "--year takes a year or a range" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("question", "admits"),
    [
        ("Which papers by Carla Diaz are in the store?", lambda p: "Carla Diaz" in p.authors),
        ("What was published in 2023?", lambda p: p.year == 2023),
        ("Which papers are from 2023?", lambda p: p.year == 2023),
        ("List the papers from 2016 to 2017.", lambda p: p.year in (2016, 2017)),
        ("Which papers are in stat.ML?", lambda p: "stat.ML" in p.categories),
        # names in full: every one of them on the paper, unless the question says "or"
        ("Which papers list both Ana Rivera and Bo Chen among their authors?", lambda p: {"Ana Rivera", "Bo Chen"} <= set(p.authors)),
        ("Which papers have Carla Diaz or Dan Rivers as an author?", lambda p: bool({"Carla Diaz", "Dan Rivers"} & set(p.authors))),
        ("What has Carla Díaz written?", lambda p: "Carla Diaz" in p.authors),  # accents aside
        # each of these abstained, or listed an author's papers of every year
        ("What did Ana Rivera publish in 2021?", lambda p: "Ana Rivera" in p.authors and p.year == 2021),
        ("Which papers by Rivera in 2019?", lambda p: "Ana Rivera" in p.authors and p.year == 2019),
        ("Which 2023 papers did Ana Rivera write?", lambda p: "Ana Rivera" in p.authors and p.year == 2023),
        ("Which papers did Carla Diaz write?", lambda p: "Carla Diaz" in p.authors),
        ("How many papers did Dan Rivers write?", lambda p: "Dan Rivers" in p.authors),
        ("Show me Bo Chen's papers", lambda p: "Bo Chen" in p.authors),
        ("List Carla Diaz's papers", lambda p: "Carla Diaz" in p.authors),  # "List" is no part of her name
        ("What papers did Ana Rivera and Bo Chen write together?", lambda p: {"Ana Rivera", "Bo Chen"} <= set(p.authors)),
        # each of these abstained: an author's work asked for in other words
        ("Carla Diaz papers", lambda p: "Carla Diaz" in p.authors),
        ("What has Dan Rivers worked on?", lambda p: "Dan Rivers" in p.authors),
        ("What did Bo Chen propose?", lambda p: "Bo Chen" in p.authors),
    ],
)
def test_metadata_questions_are_answered_from_the_metadata(lib_assistant: Assistant, question: str, admits) -> None:  # type: ignore[no-untyped-def]
    answer = lib_assistant.ask(question)
    assert not answer.abstained and answer.mode == "metadata" and answer.citations
    cited = [lib_assistant.paper(c.paper_id) for c in answer.citations]
    assert all(p is not None and admits(p) for p in cited)
    every = [p for p in lib_assistant.papers() if admits(p)]
    assert answer.text.startswith(f"{len(every)} paper") and len(cited) == min(len(every), lib_assistant.settings.top_k)
    assert all(f"[{c.n}]" in answer.text for c in answer.citations)


def test_filters_and_listings_read_the_metadata_once_and_no_abstract_of_every_paper(
    library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 100k papers every record whole is ~1 GB kept in the serving process; a filter or a listing needs
    the authors, years and categories (one metadata-only read), and a listing the abstracts of what it lists."""
    from assistant.store import Store

    a = Assistant(Settings(store_dir=library, seeds_dir=library.parent))
    a.retrieve("warm up")  # the caches are current: nothing below is an ingest's read
    reads: list[str] = []
    real = Store.iter_headers

    def forbidden(self: Store, limit: int | None = None) -> object:
        raise AssertionError("every paper record was read whole")

    monkeypatch.setattr(Store, "iter_stored", forbidden)
    monkeypatch.setattr(Store, "iter_headers", lambda self: reads.append("headers") or real(self))
    found = a.retrieve("learning", k=4, filters=Filters.parse("2019..2020"))
    assert len(found) == 4 and all(2019 <= a.paper(p.paper_id).year <= 2020 for p in found)  # type: ignore[operator, union-attr]
    listing = a.ask("Which papers by Carla Diaz are in the store?")
    assert listing.mode == "metadata" and all("Carla Diaz" in a.paper(c.paper_id).authors for c in listing.citations)  # type: ignore[union-attr]
    assert listing.citations[0].quote  # the listed papers' own opening sentences
    assert "No paper in the store matches" in a.ask("What is attention?", filters=Filters.parse("1990")).text
    assert reads == []  # from the header file the ingest's pass wrote (next test), then kept


def test_the_headers_are_kept_beside_the_store_and_rebuilt_when_missing_damaged_or_stale(
    library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 100k papers Chroma's metadata-only pages took tens of seconds: the first filtered question of every
    CLI process paid them. The ingest's pass writes every header to one file; a filter reads that instead."""
    import shutil

    from assistant.store import Store, StoreLayout

    store = tmp_path / "store"
    shutil.copytree(library, store)
    path = StoreLayout.at(store).headers
    reads: list[str] = []
    real = Store.iter_headers
    monkeypatch.setattr(Store, "iter_headers", lambda self: reads.append("headers") or real(self))

    def filtered_years() -> list[int]:
        a = Assistant(Settings(store_dir=store, seeds_dir=library.parent))
        found = a.retrieve("learning", k=30, filters=Filters.parse("2019..2020"))
        return sorted(a.paper(p.paper_id).year for p in found)  # type: ignore[misc, union-attr]

    expected = [y for y in sorted(2015 + i % 10 for i in range(24)) if 2019 <= y <= 2020]
    first_line = path.read_text().splitlines()[0]
    assert len(path.read_text().splitlines()) == 25  # the ingest's pass wrote it: a fingerprint, 24 headers
    assert filtered_years() == expected and reads == []
    path.unlink()
    assert filtered_years() == expected and reads == ["headers"]  # missing: read from the store, written again
    assert path.read_text().splitlines()[0] == first_line and filtered_years() == expected and reads == ["headers"]
    path.write_bytes(b"\x00garbage\n[1, 2]\n")
    assert filtered_years() == expected and reads == ["headers", "headers"]  # damaged: the same
    extra = tmp_path / "extra.jsonl"
    extra.write_text(json.dumps({"title": "Purring kittens", "abstract": "We study cats. " * 20, "year": 2019}) + "\n")
    Assistant(Settings(store_dir=store, seeds_dir=library.parent)).ingest([library.parent, extra])
    assert path.read_text().splitlines()[0] != first_line  # a new corpus: the pass wrote it again
    assert filtered_years() == sorted([*expected, 2019]) and reads == ["headers", "headers"]


def test_the_papers_search_past_whole_search_reads_no_record_whole_and_finds_the_same(
    lib_assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past WHOLE_SEARCH papers a search matches the header file (substrings) and the keyword index (whole,
    stemmed words) instead of every record (~1 GB and tens of seconds at 100k): for whole words, the same papers."""
    from assistant import api
    from assistant.filters import fold
    from assistant.listing import holds_words
    from assistant.store import Store

    queries = ["learning", "network training", "Diaz 2019", "DÍAZ 2019", "neural tangent", "transformers"]
    whole = {q: lib_assistant.search_papers(q, 100) for q in queries}
    assert all(n == len(found) for found, n in whole.values()) and 0 < whole["network training"][1] < 24
    assert 0 < whole["Diaz 2019"][1] < whole["learning"][1]  # an author and a year, from the headers
    assert whole["DÍAZ 2019"] == whole["Diaz 2019"]  # names folded as the filters fold them (was: lower-cased)

    def forbidden(self: Store, limit: int | None = None) -> object:
        raise AssertionError("every paper record was read whole")

    monkeypatch.setattr(api, "WHOLE_SEARCH", 0)
    monkeypatch.setattr(Store, "iter_stored", forbidden)
    monkeypatch.setattr(lib_assistant._ready().papers, "_all", None)  # nothing kept from the whole path either
    for q in queries:  # whole words match as stems here ("learning" finds "learned" too): never fewer
        found, n = lib_assistant.search_papers(q, 100)
        assert {p.id for p in whole[q][0]} <= {p.id for p in found} and n == len(found), q
        stems = [fold(w)[:5] for w in q.split()]
        assert all(holds_words(p, stems) for p in found), q
    assert len(lib_assistant.search_papers("network training", 2)[0]) == 2  # the first `limit`, counted apart
    typing = lib_assistant.search_papers("trainin", 100)[0]  # a word being typed finds what the whole one does
    assert {p.id for p in lib_assistant.search_papers("training", 100)[0]} <= {p.id for p in typing}
    assert lib_assistant.search_papers("zzzunknownword", 3) == ([], 0)


def test_a_filtered_chunk_search_is_exact_however_many_papers_the_filter_admits(
    library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chroma binds one SQL variable per id of a `$in` filter (over ~32k it fails): a wide filter searches
    unfiltered and deeper, a narrow one binds its ids in batches. Each path gives the exact nearest chunks."""
    import numpy as np

    import assistant.store as store_module
    from assistant.store import Store

    store = Store(Settings(store_dir=library))
    every = store.chunks.get(include=["embeddings"])
    vectors = np.asarray(every["embeddings"], dtype=np.float64)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    # between two chunks, near neither exactly, and nearer one of them: halfway, the two tie, and float32's
    # rounding (Chroma's) and float64's (this test's) broke the tie differently on an AVX2 CPU
    query = vectors[0] + 0.8 * vectors[7]
    papers = sorted({cid.rsplit(":", 1)[0] for cid in every["ids"]})

    def exact(allowed: set[str], depth: int) -> list[str]:
        cosine = vectors @ (query / np.linalg.norm(query))
        hits = [(float(c), cid) for c, cid in zip(cosine, every["ids"]) if cid.rsplit(":", 1)[0] in allowed]
        return [cid for _, cid in sorted(hits, key=lambda h: (-h[0], h[1]))][:depth]

    def found(allowed: set[str], depth: int, among: int) -> list[str]:
        return [cid for _, _, cid in store.search_chunks(list(query), depth, allowed, among)]

    ranked = exact(set(papers), len(every["ids"]))
    far = {cid.rsplit(":", 1)[0] for cid in ranked[-4:]}  # papers of the farthest chunks
    for allowed in (set(papers[::2]), set(papers[:3]), far):
        assert found(allowed, 5, len(papers)) == exact(allowed, 5)  # as chosen by the share admitted
        # told that these are all the papers there are: a wide filter whose unfiltered top has too few of them
        assert found(allowed, 5, len(allowed)) == exact(allowed, 5)
    monkeypatch.setattr(store_module, "WIDE_FILTER", 2.0)  # never wide: every filter binds its ids,
    monkeypatch.setattr(store_module, "IN_BATCH", 3)  # three at a time
    for allowed in (set(papers[::2]), set(papers[:3]), far, set(papers)):
        assert found(allowed, 5, len(papers)) == exact(allowed, 5)
    assert found(set(), 5, len(papers)) == []


def test_who_wrote_them_names_the_authors_of_each_paper_the_last_answer_cited(lib_assistant: Assistant) -> None:
    """"Who wrote them?" named the first paper's authors only; "Who wrote the second one?" said it needed an
    earlier question, asked right after one."""
    from assistant.listing import opening

    first, second = lib_assistant.papers()[0], lib_assistant.papers()[1]
    said = f"{opening(first.abstract).rstrip('.')} [1]. {opening(second.abstract).rstrip('.')} [2]."
    history = [("Which papers are about these topics?", said)]
    both = lib_assistant.ask("Who wrote them?", history=history)
    assert [c.paper_id for c in both.citations] == [first.id, second.id] and "[1]" in both.text and "[2]" in both.text
    assert f"is by {first.authors[0]}" in both.text and f"is by {second.authors[0]}" in both.text
    one = lib_assistant.ask("Who wrote the second one?", history=history)
    assert [c.paper_id for c in one.citations] == [second.id] and one.text.startswith(f"“{second.title}” is by")


def test_when_a_paper_was_published_is_answered_from_its_record(lib_assistant: Assistant, assistant: Assistant) -> None:
    """"When was it published?" was answered with sentences of the abstract, which never say."""
    paper = lib_assistant.papers()[1]
    first = lib_assistant.ask(f"What does “{paper.title}” show?")
    cited = lib_assistant.paper(first.citations[0].paper_id)
    assert cited is not None and cited.year
    for follow in ("When was it published?", "What year is it from?"):
        answer = lib_assistant.ask(follow, history=[(first.question, first.text)])
        assert answer.mode == "metadata" and [c.paper_id for c in answer.citations] == [cited.id], follow
        assert str(cited.year) in answer.text and answer.text.startswith(f"“{cited.title}”")
    from assistant.listing import asks_for_publication

    for other in ("When did grokking appear during training?", "When did the loss spikes appear?"):
        assert not asks_for_publication(other), other  # a question about training, not a paper's date
    seeds = assistant.ask("When was the neural tangent kernel paper published?")  # the seeds record no year
    assert seeds.abstained and "no year or venue" in seeds.text and "Neural Tangent Kernel" in seeds.text


def test_who_wrote_a_paper_whose_title_names_the_topic_is_answered_however_short_its_abstract(tmp_path: Path) -> None:
    """"Who wrote the lottery ticket paper?" abstained (no sentence close enough) on a paper whose abstract is one
    short sentence, while its card beside the refusal showed its authors."""
    rows = [{"title": p.title, "abstract": p.abstract} for p in load_corpus([SEEDS]).papers[:8]]
    rows.append({
        "title": "The Lottery Ticket Hypothesis: Finding Sparse, Trainable Neural Networks",
        "abstract": "Neural network pruning techniques can reduce the parameter counts of trained networks by over ninety.",
        "authors": ["Jonathan Frankle", "Michael Carbin"], "year": 2019,
    })
    (tmp_path / "lib.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    a = Assistant(Settings(store_dir=tmp_path / "store", seeds_dir=tmp_path))
    for asked in ("Who wrote the lottery ticket paper?", "Who wrote the paper on the lottery ticket hypothesis?"):
        answer = a.ask(asked)
        assert not answer.abstained and answer.text.startswith("“The Lottery Ticket Hypothesis"), answer.text
        assert "is by Jonathan Frankle and Michael Carbin (2019) [1]." in answer.text
    assert a.ask("When was the lottery ticket paper published?").text.endswith("2019 [1].")
    assert a.ask("Who wrote the paper on the lottery ticket hypothesis for BERT?").abstained  # BERT: in no title


def test_who_wrote_a_paper_is_answered_from_its_author_list(lib_assistant: Assistant, tmp_path: Path) -> None:
    paper = lib_assistant.papers()[1]  # AUTHORS[1]: Bo Chen alone
    answer = lib_assistant.ask(f"Who wrote the paper “{paper.title}”?")
    assert answer.mode == "metadata" and not answer.abstained
    assert [c.paper_id for c in answer.citations] == [paper.id] and answer.text.endswith(f"is by Bo Chen ({paper.year}) [1].")
    # off-topic: abstains as any question would, and says nothing about authors
    assert lib_assistant.ask("Who wrote the Odyssey?").abstained
    # a follow-up: the paper the last answer cited first ("it" found another paper first, or none)
    for paper in lib_assistant.papers()[:4]:
        first = lib_assistant.ask(f"What does “{paper.title}” show?")
        cited = lib_assistant.paper(first.citations[0].paper_id)
        assert cited is not None
        for follow in ("Who wrote it?", "Who are the authors?"):
            answer = lib_assistant.ask(follow, history=[(first.question, first.text)])
            assert [c.paper_id for c in answer.citations] == [cited.id], follow
            assert answer.text.startswith(f"“{cited.title}” is by {cited.authors[0]}")
    # a question naming its own paper is not about the one before: answered as it would be on its own
    history = [(first.question, first.text)]
    other = lib_assistant.papers()[5]
    asked = f"Who wrote the paper “{other.title}”?"
    assert lib_assistant.ask(asked, history=history).citations == lib_assistant.ask(asked).citations
    seeds = Assistant(Settings(store_dir=tmp_path / "store"))  # the seeds: an NTK question, then another paper's topic
    ntk = seeds.ask("What does the neural tangent kernel describe?")
    for topic in ("grokking", "post-training quantization"):
        asked = f"Who wrote the paper on {topic}?"
        assert seeds.ask(asked, history=[(ntk.question, ntk.text)]).text == seeds.ask(asked).text
    # the closest paper has no author list (the seeds keep none for this one): says so, cites no sentence
    bare = next(p for p in seeds.papers() if not p.authors and p.has_title)
    answer = seeds.ask(f"Who are the authors of “{bare.title}”?")
    assert answer.abstained and answer.mode == "metadata" and not answer.citations
    assert f"no author list for the closest paper, “{bare.title}”" in answer.text
    assert answer.passages and answer.passages[0].paper_id == bare.id  # the page lists it as closest, not "no paper left"
    # "Who wrote the Weight Compander paper?", its title naming it: the record answers, not "support: partial" for the
    # few words of the question a sentence of its abstract held (9 of 13 such questions were)
    named = {p.title.split(":")[0]: p for p in seeds.papers() if ":" in p.title and len(p.title.split(":")[0].split()) <= 3}
    (tmp_path / "lib.jsonl").write_text("".join(
        json.dumps({"title": p.title, "abstract": p.abstract, "authors": ["Lee Kim"], "year": 2021}) + "\n"
        for p in named.values()
    ))
    seeds.ingest([tmp_path / "lib.jsonl"])
    assert len(named) >= 10
    for name, paper in named.items():
        answer = seeds.ask(f"Who wrote the {name} paper?")
        assert answer.citations[0].paper_id == paper.id and answer.text.endswith("is by Lee Kim (2021) [1]."), name
        assert answer.support == "strong", (name, answer.support)
    # "Who wrote it?" after an answer citing a paper without authors first, then one with: it said only that the first
    # had none, the second's authors on its card. It says so, then names the others'.
    kim = next(iter(named.values()))
    bare = next(p for p in seeds.papers() if not p.authors and p.has_title and p.id not in {q.id for q in named.values()})
    said = " ".join(f"{split_sentences(p.abstract)[-1]} [{n}]" for n, p in enumerate([bare, kim], start=1))
    who = seeds.ask("Who wrote it?", history=[("Which papers are closest?", said)])
    assert who.text.startswith(f"The store has no author list for the closest paper, “{bare.title}”"), who.text
    assert who.text.endswith("is by Lee Kim (2021) [1].") and [c.paper_id for c in who.citations] == [kim.id], who.text
    assert who.support == "partial" and not who.abstained


def test_a_listing_question_with_filters_beside_it_lists_what_both_admit(lib_assistant: Assistant) -> None:
    """`ask "What was published in 2023?" --category stat.ML` abstained: filters turned listings off."""
    from assistant.filters import Filters

    filters = Filters.parse(None, [], ["stat.ML"])
    answer = lib_assistant.ask("What was published in 2023?", filters=filters)
    both = [p for p in lib_assistant.papers() if p.year == 2023 and "stat.ML" in p.categories]
    assert both and len(both) < sum(p.year == 2023 for p in lib_assistant.papers())
    assert answer.mode == "metadata" and not answer.abstained
    assert answer.text.startswith(f"{len(both)} paper") and "year 2023 within the filters (category stat.ML)" in answer.text
    assert {c.paper_id for c in answer.citations} <= {p.id for p in both}
    # a question asking only for papers lists what the filters admit ("Which papers are here?" --author Diaz);
    # a follow-up naming no papers is no listing, and "2000 papers" is a count, not a year
    assert lib_assistant.ask("What about it?", history=[("What is shown?", "x [1].")], filters=filters).mode != "metadata"
    assert lib_assistant.ask("Which datasets contain 2000 papers?").mode != "metadata"
    diaz = lib_assistant.ask("Which papers are here?", filters=Filters.parse(authors=["Diaz"]))
    hers = [p for p in lib_assistant.papers() if "Carla Diaz" in p.authors]
    assert diaz.mode == "metadata" and diaz.text.startswith(f"{len(hers)} papers in the store match the filters (author Diaz)")
    assert {c.paper_id for c in diaz.citations} <= {p.id for p in hers}
    none = lib_assistant.ask("What was published in 2023?", filters=Filters.parse("2016"))
    assert none.abstained and none.text.startswith("No paper in the store matches year 2023 within the filters (year 2016)")


def test_what_an_author_proposed_is_answered_with_what_each_paper_is_about(lib_assistant: Assistant) -> None:
    """"What did Bo Chen propose?" and "… and what is each about?" listed titles only (an untitled record's first
    words); a question with no topic of its own asked with filters ("What is the main contribution?" --author Diaz,
    "Summarize these papers") abstained: retrieval has nothing to rank by. Each now says what each paper is about."""
    from assistant.prose import gist

    chen = [p for p in lib_assistant.papers() if "Bo Chen" in p.authors]
    for question, filters in [
        ("What did Bo Chen propose?", None),
        ("Which papers list Bo Chen among their authors, and what is each about?", None),
        ("What is the main contribution?", Filters.parse(authors=["Bo Chen"])),
        ("Summarize these papers", Filters.parse(authors=["Bo Chen"])),
        ("What do the authors propose?", Filters.parse(authors=["Bo Chen"])),
    ]:
        answer = lib_assistant.ask(question, filters=filters)
        assert answer.mode == "metadata" and not answer.abstained, question
        assert answer.text.startswith(f"{len(chen)} papers"), question
        for c in answer.citations:
            paper = lib_assistant.paper(c.paper_id)
            assert paper is not None and "Bo Chen" in paper.authors
            said = gist(paper)
            assert c.quote == said[0][0] and all(text[-40:-1] in answer.text for _, text in said), question  # byline aside
    # after an answer, "What do the authors propose?" asks about the papers it cited, not the filters' papers
    followed = lib_assistant.ask("What do the authors propose?", history=[("What is shown?", "x [1].")], filters=Filters.parse(authors=["Bo Chen"]))
    assert followed.mode != "metadata"
    # a listing that asks for papers, or for papers on a topic, stays a list of titles
    titles = lib_assistant.ask("Which papers did Bo Chen write?")
    assert all(f"“{lib_assistant.paper(c.paper_id).title}”" in titles.text for c in titles.citations)  # type: ignore[union-attr]
    assert lib_assistant.ask("Show me Bo Chen's papers").text == titles.text


def test_a_listing_with_one_topic_word_lists_the_closest_first(lib_assistant: Assistant) -> None:
    """"Which papers from 2019 study neural representations?" listed 2019's papers by title, the one it asks for anywhere:
    ranking waited for two topic words. "What did Diaz publish?" was not read as a listing at all."""
    answer = lib_assistant.ask("Which papers from 2019 study neural representations?")
    from2019 = sorted((p for p in lib_assistant.papers() if p.year == 2019), key=lambda p: p.title)
    assert len(from2019) == 2 and from2019[1].title.startswith("Understanding neural representations")
    assert answer.mode == "metadata" and answer.text.startswith("2 papers")
    assert [c.paper_id for c in answer.citations] == [from2019[1].id, from2019[0].id]  # not in title order
    published = lib_assistant.ask("What did Diaz publish?")
    assert published.mode == "metadata" and all("Carla Diaz" in lib_assistant.paper(c.paper_id).authors for c in published.citations)  # type: ignore[union-attr]


def test_a_name_with_particles_is_read_whole() -> None:
    """"Which papers by Pieter van Dijk?" listed the papers of any Pieter: the name ended at "van"."""
    from assistant.listing import _BY, _POSSESSIVE, _WROTE

    assert _BY.search("Which papers by Pieter van Dijk?")[1] == "Pieter van Dijk"  # type: ignore[index]
    assert _BY.search("Which papers by van der Berg are here?")[1] == "van der Berg"  # type: ignore[index]
    assert _WROTE.search("What did Ana de la Cruz write?")[1] == "Ana de la Cruz"  # type: ignore[index]
    assert _POSSESSIVE.search("Show me Ludwig van Beethoven's papers")[1] == "Ludwig van Beethoven"  # type: ignore[index]
    assert _BY.search("Which papers by Rivera on kernels?")[1] == "Rivera"  # type: ignore[index]
    # and a full name with particles beside another is read whole
    from assistant.listing import _full_names

    headers = [Paper(id="a", title="T", abstract="x" * 90, authors=["Pieter van Dijk", "Ana Rivera"])]
    assert _full_names("Which papers by Pieter van Dijk and Ana Rivera?", lambda: headers) == ["Pieter van Dijk", "Ana Rivera"]


def test_a_name_no_paper_has_is_said_to_have_none_and_by_the_authors_is_no_name(lib_assistant: Assistant) -> None:
    """"Which papers by Geoffrey Hinton are here?" gave "The provided abstracts do not answer this question" and
    three closest papers by others, where --author Hinton says no paper matches: a name after "by" is an author."""
    answer = lib_assistant.ask("Which papers by Stefano Ermon study diffusion?")
    assert answer.mode == "metadata" and answer.abstained and not answer.citations
    assert answer.text == "No paper in the store matches author Stefano Ermon.", answer.text
    assert lib_assistant.ask("Show papers by Ermon").text == "No paper in the store matches author Ermon."
    # "by the authors of …" names no one: answered as any question
    assert lib_assistant.ask("Which papers by the authors of the NTK paper study kernels?").mode != "metadata"


def test_a_listing_nothing_matches_says_so_and_why(lib_assistant: Assistant, assistant: Assistant) -> None:
    answer = lib_assistant.ask("What was published in 1901?")
    assert answer.abstained and answer.mode == "metadata" and not answer.citations
    assert answer.text == "No paper in the store matches year 1901."
    # authors the store knows, who wrote nothing together: none, said from the metadata (not "do not answer")
    together = lib_assistant.ask("Which papers are by both Carla Diaz and Dan Rivers?")
    assert together.abstained and together.mode == "metadata" and together.text.startswith("No paper in the store matches")
    assert "Carla Diaz" in together.text and "Dan Rivers" in together.text
    # Where papers have no year, it says how many: they may be the ones meant.
    undated = sum(p.year is None for p in assistant.papers())
    assert undated and assistant.ask("What was published in 2023?").text == (
        f"No paper in the store matches year 2023; {undated} of its {len(assistant.papers())} papers have no year."
    )


def test_a_year_in_a_content_question_is_not_a_listing(lib_assistant: Assistant) -> None:
    assert lib_assistant.ask("What did the kernel papers show in 2019 about training?").mode != "metadata"


# -- the page's filter boxes and the /ask route --------------------------------------------------------
def test_the_page_filters_answers_and_refuses_a_bad_year_inline(lib_assistant: Assistant) -> None:
    from assistant.ui.handlers import Handlers

    h = Handlers(lib_assistant)
    def cited(*filters: str) -> tuple[list[Paper], str]:
        *_, (_, _, turns, _, status) = list(h.respond("How are neural networks trained?", [], [], "extractive", "hybrid", 5, *filters))
        # the status line is Markdown, its filters written as literal text (entities): read as the page shows it
        return [lib_assistant.paper(pid) for pid in turns[-1]["paper_ids"]], html.unescape(status)  # type: ignore[misc]

    papers, status = cited("2019..2021", "", "")
    assert "only papers with years 2019–2021" in status
    assert papers and all(2019 <= (p.year or 0) <= 2021 for p in papers)
    papers, status = cited("", "Carla Diaz, Dan Rivers", "cs.LG")
    assert "author Carla Diaz or Dan Rivers, category cs.LG" in status
    assert papers and all(set(p.authors) & {"Carla Diaz", "Dan Rivers"} and "cs.LG" in p.categories for p in papers)
    papers, status = cited("", "", "", "NeurIPS, JMLR")
    assert "venue NeurIPS or JMLR" in status and papers and all(p.venue in (VENUES[0], VENUES[4]) for p in papers)
    refused = list(h.respond("How are neural networks trained?", [], [], "extractive", "hybrid", 5, "2021..2019", "", ""))
    assert len(refused) == 1 and "aa-refused" in refused[0][4] and "ends before it starts" in refused[0][4]
    assert "Not asked: the Years box 2021&#46;&#46;2019" in refused[0][4] and "--year" not in refused[0][4]  # the page's words


def test_the_ask_route_takes_the_same_filters(lib_assistant: Assistant) -> None:
    import gradio_client

    from assistant import ui
    from conftest import free_port

    app = ui.build_app(lib_assistant)
    url = ui.launch(app, host="127.0.0.1", port=free_port(), block=False)
    try:
        client = gradio_client.Client(url, verbose=False)
        result = client.predict("What do the papers show about training?", "", "Rivera", "", api_name="/ask")
        assert result["citations"] and all("Ana Rivera" in c["authors"] for c in result["citations"])
        plain = client.predict("What do the papers show about training?", api_name="/ask")  # filters are optional
        assert plain["citations"]
    finally:
        app.close()


def test_names_match_across_letters_unicode_does_not_decompose() -> None:
    """ø, ł, æ, ß, đ have no accent to drop: "Sorensen" must still find "Bjørn Sørensen", on both sides."""
    from assistant.listing import metadata_filters
    from assistant.types import Header

    people = ("Bjørn Sørensen", "Łukasz Kaiser", "Ærø Straße", "Đorđe Đorđević")
    header = Header(id="p1", title="T", authors=people, year=2020, categories=())
    for wanted in ("Sorensen", "SØRENSEN", "Lukasz", "aero", "strasse", "Dordevic", "Łukasz Kaiser"):
        assert Filters.parse(authors=[wanted]).admits(header), wanted
    assert not Filters.parse(authors=["Sorenson"]).admits(header)
    asked = metadata_filters("Which papers by Lukasz Kaiser are here?", lambda: {"p1": header})
    assert asked is not None and asked.authors == ("Lukasz Kaiser",) and asked.admits(header)


def test_a_name_a_question_gives_is_matched_whole_and_an_author_filter_as_a_fragment() -> None:
    """"papers by Su" listed Kaiming He et al. for their co-author Jian Sun; --author river still finds Rivera."""
    from assistant.listing import metadata_filters
    from assistant.types import Header

    su = Header(id="su", title="RoFormer", authors=("Jianlin Su", "Yu Lu"), year=2021, categories=())
    sun = Header(id="sun", title="ResNet", authors=("Kaiming He", "Jian Sun"), year=2016, categories=())
    asked = metadata_filters("Which papers by Su are here?", lambda: {"su": su, "sun": sun})
    assert asked is not None and asked.admits(su) and not asked.admits(sun)
    assert Filters.parse(authors=["Su"]).admits(sun)  # --author: any part of a name, as documented


def test_past_whole_search_an_accented_word_of_an_abstract_is_found_as_typed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Search words are folded for the headers ("DÍAZ" finds Diaz), but the keyword index keeps "naïve" as
    written: both spellings are looked up, so folding does not lose it past WHOLE_SEARCH papers."""
    from assistant import api

    rows = [
        {"title": "Bayes for all", "abstract": "A naïve Bayes classifier " + "reads every feature apart and still works well. " * 3},
        {"title": "Other", "abstract": "Gradient descent on wide networks " + "behaves like a kernel method in the limit. " * 3},
    ]
    (tmp_path / "two.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assistant = Assistant(Settings(store_dir=tmp_path / "store", seeds_dir=tmp_path))
    assistant.ingest()
    monkeypatch.setattr(api, "WHOLE_SEARCH", 0)
    for query in ("naïve", "bayes naïve"):
        found, n = assistant.search_papers(query, 10)
        assert [p.title for p in found] == ["Bayes for all"] and n == 1, query


@pytest.mark.parametrize(
    ("venue", "wanted", "holds"),
    [
        ("Advances in Neural Information Processing Systems 34", "NeurIPS", True),
        ("Advances in Neural Information Processing Systems 34", "nips", True),
        ("ICML 2021 Workshop on Theory", "icml", True),
        ("Proceedings of the 38th International Conference on Machine Learning", "ICML", True),
        ("Journal of Machine Learning Research", "machine learning research", True),  # any part of the name
        ("Transactions on Machine Learning Research", "JMLR", False),
        ("UAIx Symposium", "UAI", False),  # a short name is a whole word
        (None, "NeurIPS", False),
        ("Transactions of the Association for Computational Linguistics", "ACL", False),  # TACL
        ("North American Chapter of the Association for Computational Linguistics", "ACL", False),  # NAACL
        ("Annual Meeting of the Association for Computational Linguistics", "ACL", True),
        ("International Conference on Machine Learning and Applications", "ICML", False),  # ICMLA
        ("ACM SIGKDD International Conference on Knowledge Discovery & Data Mining", "KDD", True),
        ("Proc. SIGKDD", "kdd", True),
        ("2019 International Conference on Machine Learning and Cybernetics (ICMLC)", "ICML", False),
        ("Pacific-Asia Conference on Knowledge Discovery and Data Mining", "KDD", False),
        ("Findings of the Association for Computational Linguistics: EMNLP 2020", "ACL", False),
        ("Findings of the Association for Computational Linguistics: EMNLP 2020", "EMNLP", True),
        (("Proceedings of the 2019 Conference of the North American Chapter of the Association for Computational "
          "Linguistics: Human Language Technologies"), "NAACL", True),
    ],
)
def test_a_venue_is_found_by_part_of_its_name_or_a_big_venues_short_name(venue: str | None, wanted: str, holds: bool) -> None:
    from assistant.filters import holds_venue

    assert holds_venue(venue, wanted) is holds


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_a_venue_filter_returns_k_papers_of_that_venue(lib_assistant: Assistant, mode: str) -> None:
    icml = Filters.parse(venues=["ICML"])
    found = lib_assistant.retrieve("learning", k=4, mode=mode, filters=icml)  # type: ignore[arg-type]
    venues = {p.id: p.venue for p in lib_assistant.papers()}
    assert len(found) == 4 and all(venues[p.paper_id] in (VENUES[1], VENUES[2]) for p in found)  # not JMLR
    assert icml.describe() == "venue ICML"
    dated = Filters.parse(venues=["NeurIPS 2020"])  # as a reference names it: the year becomes the year filter
    assert (dated.venues, dated.first_year, dated.last_year) == (("NeurIPS",), 2020, 2020)
    assert Filters.parse("2019", venues=["NeurIPS 2020"]).venues == ("NeurIPS 2020",)  # --year given: left as typed


def test_the_venue_filter_on_the_command_line_and_a_header_file_from_before_venues(
    library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    from assistant.store import HEADERS

    store = tmp_path / "store"
    shutil.copytree(library, store)
    headers = store / HEADERS
    Assistant(Settings(store_dir=store, seeds_dir=library.parent)).retrieve("learning", filters=Filters.parse("2020"))
    lines = headers.read_text().splitlines()  # written with the venue: six fields a paper
    assert len(json.loads(lines[1])) == 6
    headers.write_text("\n".join([lines[0], *(json.dumps(json.loads(line)[:5]) for line in lines[1:])]) + "\n")
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(store))
    monkeypatch.setenv("ASSISTANT_SEEDS_DIR", str(library.parent))
    assert main(["retrieve", "learning", "-k", "30", "--venue", "NeurIPS", "--venue", "jmlr", "--json", "--local"]) == 0
    found = json.loads(capsys.readouterr().out)
    venues = {p.id: p.venue for p in Assistant(Settings(store_dir=store)).papers()}
    assert {venues[p["paper_id"]] for p in found} == {VENUES[0], VENUES[4]}  # NeurIPS's full name, and JMLR's
    assert len(found) == sum(1 for v in venues.values() if v in (VENUES[0], VENUES[4]))
    assert len(json.loads(headers.read_text().splitlines()[1])) == 6  # the old file was rebuilt


def test_the_other_papers_of_the_cited_papers_authors_are_listed(lib_assistant: Assistant, assistant: Assistant) -> None:
    """"What about the other papers by the same first author?" after an answer searched its words and said no other
    paper addressed them, where the store held the first author's other papers."""
    first = "What does the neural tangent kernel describe?"
    answer = lib_assistant.ask(first)
    cited = lib_assistant.paper(answer.citations[0].paper_id)
    assert cited is not None and cited.authors
    history = [(first, answer.text)]
    lead = lib_assistant.ask("What about the other papers by the same first author?", history=history)
    others = {p.id for p in lib_assistant.papers() if cited.authors[0] in p.authors and p.id != cited.id}
    assert lead.mode == "metadata" and len(others) > 1, lead.text
    assert lead.text.startswith(f"{len(others)} other papers in the store are by {cited.authors[0]} (the first author of “")
    assert {c.paper_id for c in lead.citations} <= others and len(lead.citations) == min(len(others), 5)
    every = lib_assistant.ask("What else have these authors written?", history=history)
    anyone = {p.id for p in lib_assistant.papers() if set(cited.authors) & set(p.authors) and p.id != cited.id}
    assert every.text.startswith(f"{len(anyone)} other papers"), every.text
    # no author list to go by (the seeds): asked as any question, not "no other paper"
    seeds = assistant.ask("What else have these authors written?", history=[(first, assistant.ask(first).text)])
    assert seeds.mode != "metadata"


def test_a_question_listing_a_venues_papers_is_answered_from_the_metadata(lib_assistant: Assistant, assistant: Assistant) -> None:
    answer = lib_assistant.ask("Which NeurIPS 2020 papers are here?")
    venues = {p.id: (p.venue, p.year) for p in lib_assistant.papers()}
    expected = {pid for pid, (venue, year) in venues.items() if venue == VENUES[0] and year == 2020}
    assert answer.mode == "metadata" and {c.paper_id for c in answer.citations} == expected and len(expected) == 2
    assert "year 2020, venue NeurIPS" in answer.text
    one = lib_assistant.ask("What does the ICML paper on kernels propose?")  # one paper asked about: not a listing
    assert one.mode != "metadata"
    none = assistant.ask("Which papers were published at ICML?")  # the seeds name no venue: said, not guessed
    assert none.abstained and "No paper in the store matches venue ICML; 74 of its 74 papers have no venue." in none.text


def test_what_the_jmlr_paper_proved_is_its_gist_as_with_the_venue_filter(lib_assistant: Assistant) -> None:
    """"What did the JMLR 2019 paper prove?" abstained ("JMLR" read as a topic no sentence held), while "What did
    the authors prove?" with --venue JMLR --year 2019 gave each paper's gist; then it listed the titles alone."""
    from assistant.text import rough_sentences

    placed = [p for p in lib_assistant.papers() if p.venue == VENUES[4] and p.year == 2019]
    answer = lib_assistant.ask("What did the JMLR 2019 paper prove?")
    assert not answer.abstained and sorted(c.paper_id for c in answer.citations) == sorted(p.id for p in placed), answer.text
    # what each proposes or proves, from its abstract, not its title alone
    assert all(any(s[-40:-1] in answer.text for s in rough_sentences(p.abstract)) for p in placed), answer.text
    given = lib_assistant.ask("What did the authors prove?", filters=Filters.parse("2019", venues=["JMLR"]))
    assert given.text == answer.text


def test_a_listing_names_any_venue_of_the_store_by_its_whole_name(lib_assistant: Assistant) -> None:
    """Beyond the big venues' short names: "published in Nature", "papers in the Journal of …", as a venue of
    the store is written. A name no paper's venue has is not a listing: it may be a topic."""
    venues = {p.id: p.venue for p in lib_assistant.papers()}
    for question, venue in [
        ("Which papers were published in the Journal of Machine Learning Research?", VENUES[4]),
        ("List the papers that appeared in Advances in Neural Information Processing Systems 34.", VENUES[0]),
    ]:
        answer = lib_assistant.ask(question)
        expected = {pid for pid, v in venues.items() if v == venue}
        assert answer.mode == "metadata" and {c.paper_id for c in answer.citations} == expected and expected, question
    topic = lib_assistant.ask("Which papers in Deep Learning Theory study kernels?")
    assert topic.mode != "metadata"


@pytest.mark.parametrize("whole", [True, False])
def test_the_papers_search_finds_a_big_venue_by_its_short_name(
    lib_assistant: Assistant, monkeypatch: pytest.MonkeyPatch, whole: bool
) -> None:
    import assistant.api

    if not whole:  # the path of a store past WHOLE_SEARCH papers: the header file and the keyword index
        monkeypatch.setattr(assistant.api, "WHOLE_SEARCH", 0)
    found, matched = lib_assistant.search_papers("NeurIPS", 100)
    expected = [p.id for p in lib_assistant.papers() if p.venue == VENUES[0]]
    assert matched == len(expected) > 0 and sorted(p.id for p in found) == sorted(expected)


def test_the_venue_and_year_of_the_paper_a_question_asks_about_filter_its_answer(lib_assistant: Assistant) -> None:
    from assistant.listing import placed_paper_filters

    papers = lib_assistant.papers()
    icml = next(p for p in papers if p.venue == VENUES[1])
    others = [p for p in papers if p.venue not in (VENUES[1], VENUES[2])]
    by_id = {p.id: p for p in papers}
    other = next(p for p in others if p.has_title and lib_assistant.ask(f"What did the paper on {p.title} propose?").citations[:1]
                 and lib_assistant.ask(f"What did the paper on {p.title} propose?").citations[0].paper_id == p.id)
    # Without a place the paper on that topic answers; placed at ICML in a year, only such papers may
    answer = lib_assistant.ask(f"What did the ICML {icml.year} paper on {other.title} propose?")
    placed = Filters.parse(str(icml.year), venues=["ICML"])
    assert all(placed.admits(by_id[c.paper_id]) for c in answer.citations) and other.title not in answer.text
    own = lib_assistant.ask(f"What did the ICML {icml.year} paper on {icml.title} propose?")
    assert own.citations and own.citations[0].paper_id == icml.id
    def headers() -> dict[str, Paper]:
        return {p.id: p for p in papers}

    assert placed_paper_filters(f"What does the {icml.year} paper on kernels show?", headers) is not None
    assert placed_paper_filters(f"What did the {icml.year} papers on kernels propose?", headers) == Filters.parse(str(icml.year))
    assert placed_paper_filters("What does the 2031 paper on kernels show?", headers) is None  # no such paper: no filter
    assert placed_paper_filters("What does the Nature paper on kernels show?", headers) is None  # not a big venue's name
    assert placed_paper_filters("What does the paper on kernels show?", headers) is None


def test_a_year_as_a_number_and_an_author_family_name_first() -> None:
    """`Filters.parse(year=2020)` raised a bare regex TypeError; `--author "Hinton, Geoffrey"` (as Zotero shows a
    name) matched nothing."""
    from assistant.filters import Filters
    from assistant.types import Paper

    assert Filters.parse(year=2020) == Filters.parse(year="2020")
    with pytest.raises(TypeError, match="year must be"):
        Filters.parse(year=2020.5)  # type: ignore[arg-type]
    paper = Paper(id="p", title="T", abstract="A " * 50, authors=["Geoffrey Hinton", "Yann LeCun"], year=2020)
    for typed in ("Hinton, Geoffrey", "Geoffrey Hinton", "Hinton", "LeCun, Yann"):
        assert Filters.parse(authors=[typed]).admits(paper), typed
    assert not Filters.parse(authors=["Hinton, Yann"]).admits(paper)
    assert Filters.parse(authors=["Smith, J., Jones, K."]).authors == ("Smith, J., Jones, K.",)  # not one name


def test_who_proposed_a_thing_names_the_authors_of_the_paper_introducing_it(lib_assistant: Assistant) -> None:
    """"Who proposed X?" is answered from the author list of the paper presenting X as its own; a paper that only
    mentions X names no one (a paper comparing against Mamba was answered as if its authors had made Mamba)."""
    from assistant.listing import who_made

    assert who_made("Who first proposed the term neural collapse?") == "neural collapse"
    assert who_made("Who wrote the PowerNorm paper?") is None
    assert who_made("Who proposed PowerNorm in 2020?") == "PowerNorm" and who_made("Who proposed it?") is None
    from assistant.answer import introduces
    from assistant.types import Paper

    mention = Paper(id="m", title="Hybrids", abstract="We show that Hyena outperforms Mamba on recall.")
    made = Paper(id="n", title="Hybrids", abstract="We propose Mamba, a selective state space model.")
    assert not introduces(mention, "Mamba") and introduces(made, "Mamba") and introduces(made, "the Mamba model")
    paper = next(p for p in lib_assistant.papers() if "we introduce \\textit{symbolic autoencoding}" in p.abstract)
    answer = lib_assistant.ask("Who introduced symbolic autoencoding?")
    assert f"is by {paper.authors[0]}" in answer.text and answer.citations[0].paper_id == paper.id, answer.text
    elsewhere = lib_assistant.ask("Who invented the Transformer architecture?")
    assert elsewhere.abstained and "do not say who introduced Transformer architecture" in elsewhere.text, elsewhere.text


def test_summarize_these_papers_after_an_answer_with_filters_set(lib_assistant: Assistant) -> None:
    """"Summarize these papers" with an author filter summarised that author's papers asked first, but after an answer
    abstained: a follow-up's search has no topic when the question before was a listing. After an answer it
    summarises the papers that answer cited which the filters admit; none of them: the papers the filters admit."""
    rivera, chen, diaz = (Filters.parse(authors=[name]) for name in ("Rivera", "Chen", "Diaz"))
    first = lib_assistant.ask("Summarize these papers", filters=rivera)
    cited = [c.paper_id for c in first.citations]
    assert not first.abstained and len(cited) >= 2
    history = [(first.question, first.text)]
    for filters in (rivera, chen):  # every paper cited is Rivera's, written with Chen
        again = lib_assistant.ask("Summarize these papers", filters=filters, history=history)
        assert not again.abstained and [c.paper_id for c in again.citations] == cited, again.text
        assert again.text.startswith(f"Of the papers the last answer cited, {len(cited)} match the filters")
    other = lib_assistant.ask("What do the authors propose?", filters=diaz, history=history)
    assert not other.abstained and other.citations
    assert all("Carla Diaz" in lib_assistant.paper(c.paper_id).authors for c in other.citations)  # type: ignore[union-attr]
    assert other.citations == lib_assistant.ask("What do the authors propose?", filters=diaz).citations
