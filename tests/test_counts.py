""""How many papers are about X?": counted from the words of the titles and abstracts, the closest listed and
cited, instead of an extractive answer that quotes one abstract and never gives a number."""

from __future__ import annotations

import json

import pytest

from assistant import api
from assistant.api import Assistant
from assistant.config import Settings
from assistant.filters import Filters
from assistant.listing import counted_topics, mentions_topic
from assistant.types import Answer

ROWS = [
    ("Rethinking batch normalization for transformers", "We show that batch normalization fails in NLP transformers and propose a fix for its statistics.", 2020),
    ("Weight norms under mini-batch SGD", "We analyze mini-batch SGD and prove that the weight norm of each layer shrinks with the batch size.", 2021),
    ("Dropout as a compression constraint", "We show that dropout restricts the information a classifier keeps about noisy labels.", 2021),
    ("Diffusion models memorize", "We find that image diffusion models reproduce training images and propose a fine-tuning remedy.", 2020),
    ("An audio diffusion model", "A diffusion model for speech synthesis that runs in real time on a laptop without a GPU at all.", 2022),
    ("Message passing on graphs", "Graph neural networks pass messages between nodes; we bound their expressive power by the WL test.", 2022),
]


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    folder = tmp_path_factory.mktemp("counted")
    rows = [{"title": t, "abstract": a, "year": y, "authors": ["Ana Rivera"]} for t, a, y in ROWS]
    (folder / "papers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assistant = Assistant(Settings(store_dir=folder / "store", seeds_dir=folder))
    assistant.ingest()
    return assistant


@pytest.mark.parametrize(
    ("question", "topics"),
    [
        ("How many papers are about diffusion models?", [["diffusion", "models"]]),
        ("How many papers in the collection study quantization?", [["quantization"]]),
        ("How many abstracts mention dropout or batch norm?", [["dropout"], ["batch", "norm"]]),
        ("How many papers are there?", []),
        ("How many papers are in this collection?", []),
        ("How many papers are about that?", None),  # a follow-up: its topic is the conversation's
        ("How many papers did Ana Rivera write?", None),  # about authors, not a topic
        ("How many papers does the LoRA paper compare against?", None),
        ("How many papers does the store hold?", []),
        ("How many abstracts are stored?", []),
        ("How many papers are indexed?", []),
        ("How many papers have been indexed so far?", []),
        ("How many papers are currently indexed in the database?", []),
        ("How many papers are in the index?", []),
        ("How many papers are available?", []),
        ("How many papers do you have on pruning?", [["pruning"]]),
        ("How many papers study indexed retrieval?", [["indexed", "retrieval"]]),  # a topic, not where they are
        ("How many papers does the collection hold on pruning?", [["pruning"]]),
        ("How many papers have theorems?", [["theorems"]]),
        ("How many papers are about Schrödinger bridges?", [["Schrödinger", "bridges"]]),
        ("How many parameters does the audio model use?", None),  # a question about a paper, not a count
        ("Which papers are about diffusion?", None),
    ],
)
def test_what_a_count_question_counts(question: str, topics: list[list[str]] | None) -> None:
    assert counted_topics(question) == topics


def test_a_topic_is_its_words_whole_and_in_a_row_with_their_endings() -> None:
    assert mentions_topic(["batch", "norm"], "we study Batch Normalization") and mentions_topic(["batch", "norm"], "batch-norm layers")
    assert not mentions_topic(["batch", "norm"], "mini-batch SGD shrinks the weight norm")
    assert not mentions_topic(["RL"], "the world is early") and mentions_topic(["RL"], "deep RL agents")  # not inside words
    assert mentions_topic(["sparsity"], "high sparsity") and mentions_topic(["theory"], "two theories")  # stems ending in i
    assert not mentions_topic(["theory"], "a theoretical theorem") and not mentions_topic(["ODE"], "a model")
    assert mentions_topic(["Schrödinger", "bridges"], "Schrödinger bridge matching") and mentions_topic(["C++"], "in C++ code")


def _titles(assistant: Assistant, answer: Answer) -> set[str]:
    return {assistant.paper(c.paper_id).title for c in answer.citations}  # type: ignore[union-attr]


def test_how_many_papers_are_about_a_topic_is_counted_and_each_cited(counted: Assistant) -> None:
    answer = counted.ask("How many papers are about diffusion models?")
    assert answer.mode == "metadata" and not answer.abstained
    assert answer.text.startswith("2 papers in the store mention “diffusion models” in the title or abstract")
    assert _titles(counted, answer) == {"Diffusion models memorize", "An audio diffusion model"}
    either = counted.ask("How many abstracts mention dropout or batch norm?")
    assert either.text.startswith("2 papers") and "Weight norms under mini-batch SGD" not in _titles(counted, either)
    assert counted.ask("How many papers are there?").text.startswith("The store holds 6 papers")
    assert counted.ask("How many papers have been indexed so far?").text.startswith("The store holds 6 papers")


def test_a_count_of_none_says_zero_and_filters_beside_it_narrow_it(counted: Assistant) -> None:
    none = counted.ask("How many papers are about protein folding?")
    assert none.text == "0 papers in the store mention “protein folding” in the title or abstract."
    assert not none.abstained and none.citations == []
    recent = counted.ask("How many papers are about diffusion models?", filters=Filters(first_year=2022))
    assert recent.text.startswith("1 paper in the store within the filters (") and "mentions" in recent.text
    assert _titles(counted, recent) == {"An audio diffusion model"}


def test_past_whole_search_a_one_word_topic_counts_the_same(counted: Assistant, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "WHOLE_SEARCH", 0)  # the keyword index instead of every record
    assert counted.ask("How many abstracts mention dropout?").text.startswith("1 paper in the store mentions “dropout”")
