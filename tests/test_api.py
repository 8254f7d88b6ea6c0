"""The Python API: shapes, follow-ups, bad questions and concurrent use."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from assistant.api import Assistant
from assistant.errors import InvalidQuestion
from assistant.followup import followup_query
from assistant.types import Final, Status, TextDelta


def test_papers_have_the_documented_fields(assistant: Assistant) -> None:
    papers = assistant.papers()
    assert len(papers) == 74
    p = papers[0]
    assert p.id and p.title and p.abstract and isinstance(p.authors, list) and p.sources


def test_retrieve_returns_passages(assistant: Assistant) -> None:
    passages = assistant.retrieve("hypernetworks predicting weights", k=3)
    assert [type(p).__name__ for p in passages] == ["Passage"] * 3
    assert "Hypernetwork" in passages[0].title


def test_similar_to_each_is_one_search_with_what_similar_gives_per_paper(
    assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [p.paper_id for p in assistant.retrieve("neural tangent kernel", k=3)]
    one_by_one = {pid: assistant.similar(pid, 4) for pid in ids}
    store = assistant._open_store()
    searches: list[int] = []
    real = store.papers.query
    monkeypatch.setattr(store.papers, "query", lambda **kw: searches.append(len(kw["query_embeddings"])) or real(**kw))
    together = assistant.similar_to_each([*ids, "no-such-id", ids[0]], 4)
    assert searches == [3] and list(together) == ids  # a missing id is left out, a repeated one searched once
    assert assistant.similar_to_each([]) == {} and searches == [3]  # an abstention's: nothing to read
    for pid in ids:
        assert [p.paper_id for p in together[pid]] == [p.paper_id for p in one_by_one[pid]]
        assert [p.score for p in together[pid]] == pytest.approx([p.score for p in one_by_one[pid]], abs=1e-5)
        assert pid not in [p.paper_id for p in together[pid]] and len(together[pid]) == 4


def test_ask_records_the_settings_hash(assistant: Assistant) -> None:
    answer = assistant.ask("What is symbolic autoencoding?")
    assert answer.settings_hash == assistant.settings.settings_hash()
    assert len(answer.settings_hash) == 12


def test_stream_yields_status_text_then_final(assistant: Assistant) -> None:
    events = list(assistant.stream("How can plain CNNs compete with ResNets?"))
    assert isinstance(events[0], Status)
    assert isinstance(events[-1], Final)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == events[-1].answer.text


@pytest.mark.parametrize("bad", ["", "   \n\t ", "x" * 1_000_000])
def test_bad_questions_raise_a_clear_error(assistant: Assistant, bad: str) -> None:
    with pytest.raises(InvalidQuestion) as info:
        assistant.ask(bad)
    assert "question" in str(info.value)


def test_followups_carry_the_previous_subject() -> None:
    history = [{"role": "user", "content": "What is a neural process?"}, {"role": "assistant", "content": "..."}]
    assert followup_query("How is it trained?", history) == "What is a neural process? How is it trained?"
    assert followup_query("Which papers study quantization of transformer weights after training?", history).startswith("Which")
    assert followup_query("And its limits?", [("What is NTK?", "...")]) == "What is NTK? And its limits?"
    # Short, but with a topic of its own: a new question, not a follow-up (it was answered from NTK papers).
    ntk = [("What does the neural tangent kernel describe?", "...")]
    for new in ("How does quantization reduce model size?", "What is symbolic autoencoding?", "What is PowerNorm?",
                "What is grokking?", "Define dropout.", "What is a transformer?", "Describe grokking.",
                "Can you explain grokking?",  # a definition names its own topic
                "Which papers study quantization?", "Any papers on pruning?", "Which work studies grokking?"):  # a search
        assert followup_query(new, ntk) == new
    for more in ("Which datasets were used?", "What about training cost?", "Limitations?", "What are the limitations?",
                 "What is it?", "Explain this.", "What is proposed?", "What is new here?", "What is missing?",
                 "Explain further.", "Explain in detail.", "Which papers did you cite?", "Which papers were used?",
                 "Which papers are cited?", "Which papers?", "Which paper is better?", "What works best?",
                 "Which works better?"):  # no topic of their own
        assert followup_query(more, ntk) == f"{ntk[0][0]} {more}"


def test_what_about_x_asks_the_earlier_question_of_x() -> None:
    def after(earlier: str, question: str) -> str:
        return followup_query(question, [{"role": "user", "content": earlier}, {"role": "assistant", "content": "…"}])

    assert after("What is PowerNorm?", "What about SaRA?") == "What is SaRA?"
    assert after("Which datasets does PowerNorm use?", "And SaRA?") == "Which datasets does SaRA use?"
    assert after("Tell me about PowerNorm.", "What about Todyformer?") == "Tell me about Todyformer."
    assert after("Compare MemControl and SaRA", "And PowerNorm?") == "And PowerNorm?"  # two names: asked on its own
    # nothing new named: the earlier subject is carried as before
    assert after("What is PowerNorm?", "What about training cost?") == "What is PowerNorm? What about training cost?"
    assert after("What is PowerNorm?", "And its limits?") == "What is PowerNorm? And its limits?"
    # a question of its own after "And", or no subject named: the earlier subject is carried, not swapped
    for more in ("And how does it compare to BatchNorm?", "What about on CIFAR-10?", "And is it better than LayerNorm?"):
        assert after("What is PowerNorm?", more) == f"What is PowerNorm? {more}"


def test_a_follow_up_the_last_answer_already_answered_gets_that_sentence_again_first(assistant: Assistant) -> None:
    """"What convergence rate does it achieve?" after an answer that gave the rate: everything but the rate, as
    the rate's sentence had been said; "Tell me more" still repeats nothing."""
    first = assistant.ask("What is flow matching?")
    assert "minmax optimal convergence rate" in first.text
    again = assistant.ask("What convergence rate does it achieve?", history=[("What is flow matching?", first.text)])
    assert again.text.startswith("The authors establish that FM can achieve the minmax optimal convergence rate")
    more = assistant.ask("Tell me more.", history=[("What is flow matching?", first.text)])
    assert "minmax optimal convergence rate" not in more.text



def test_tell_me_more_says_nothing_the_last_answer_said(assistant: Assistant) -> None:
    """"What is grokking?" then "Tell me more." began with the first answer's three sentences again: the
    query "What is grokking? Tell me more." was read as a definition, and a new sentence brought back the
    sentences before it as context."""
    from assistant.text import split_sentences

    first = assistant.ask("What is grokking?")
    more = assistant.ask("Tell me more.", history=[("What is grokking?", first.text)])
    said = set(split_sentences(first.text))
    assert more.citations and not said & set(split_sentences(more.text)), more.text


def test_thanks_or_ok_is_no_question_to_search(assistant: Assistant) -> None:
    """"Thanks!" after an answer was answered with three cited sentences of its nearest abstracts."""
    from assistant.followup import ACKNOWLEDGED, acknowledges

    for said in ("Thanks!", "thank you", "ok", "OK, got it.", "Great, thanks so much."):
        answer = assistant.ask(said, history=[("What is PowerNorm?", "…")])
        assert answer.text == ACKNOWLEDGED and not answer.citations, said
    for asked in ("Thanks for that; what about SaRA?", "Is it good?", "No idea what PN does: what is it?"):
        assert not acknowledges(asked)


def test_a_topic_switch_by_what_about_is_answered_on_the_new_topic(assistant: Assistant) -> None:
    """"What is PowerNorm?" then "What about SaRA?" abstained: "… PowerNorm? What about SaRA?" found PowerNorm."""
    first = assistant.ask("What is PowerNorm?")
    switched = assistant.ask("What about SaRA?", history=[("What is PowerNorm?", first.text)])
    assert not switched.abstained and [c.title.split(":")[0] for c in switched.citations] == ["SaRA"]


def test_a_new_short_question_in_a_conversation_is_answered_on_its_own_topic(assistant: Assistant) -> None:
    """After an NTK question, "How does quantization reduce model size?" was answered from NTK papers."""
    history = [("What does the neural tangent kernel describe?", "…")]
    answer = assistant.ask("How does quantization reduce model size?", history=history)
    papers = [assistant.paper(c.paper_id) for c in answer.citations]
    assert papers and all(p is not None and "quantiz" in (p.title + p.abstract).lower() for p in papers)
    after = assistant.ask("What is grokking?", history=[("Which papers study post-training quantization?", "…")])
    cited = [assistant.paper(c.paper_id) for c in after.citations]  # was: quantization papers, support "strong"
    assert cited and all(p is not None and "grokking" in (p.title + p.abstract).lower() for p in cited)
    searched = assistant.ask("Which papers study quantization?", history=history)  # was: the NTK papers again
    found = [assistant.paper(c.paper_id) for c in searched.citations]
    assert found and all(p is not None and "quantiz" in (p.title + p.abstract).lower() for p in found)


def test_followup_answer_stays_on_subject(assistant: Assistant) -> None:
    history = [{"role": "user", "content": "What are martingale posterior neural processes?"}]
    answer = assistant.ask("What problem do they address?", history=history)
    assert any("Martingale" in c.title for c in answer.citations)


def test_a_follow_up_of_a_follow_up_keeps_the_conversations_subject(assistant: Assistant) -> None:
    """The third question carried only the second ("What problem do they address?"), which names nothing,
    and was answered from PowerNorm."""
    history = [("What are martingale posterior neural processes?", "…"), ("What problem do they address?", "…")]
    question = "How do they compare to standard neural processes?"
    assert followup_query(question, history) == f"What are martingale posterior neural processes? {question}"
    answer = assistant.ask(question, history=history)
    assert answer.citations and all("Martingale" in c.title for c in answer.citations)


def test_concurrent_asks_match_sequential(assistant: Assistant) -> None:
    questions = [
        "What is the neural tangent kernel?",
        "How does SaRA fine-tune diffusion models?",
        "Which paper uses random search for sparse architectures?",
        "What is the canonical representation hypothesis?",
    ] * 4
    sequential = [assistant.ask(q).text for q in questions]
    with ThreadPoolExecutor(max_workers=16) as pool:
        concurrent = list(pool.map(lambda q: assistant.ask(q).text, questions))
    assert concurrent == sequential


def test_warm_loads_the_store_model_and_vector_indexes_before_a_question(store_copy: Path) -> None:
    from assistant.config import Settings

    a = Assistant(Settings(store_dir=store_copy))
    a.warm()
    assert a._state is not None and a._embedder is not None  # the paper catalog and the model
    assert a._store is not None and list(a._state.retrievers) == [("hybrid", 1)]
    assert a._state.sentences.row_of and a._state.sentences.fingerprint.startswith(a._state.papers.fingerprint)
    assert a.paper_count() == 74 and a._state is not None and a._state.papers._all is None  # no record read


def test_importing_the_package_leaves_the_environment_alone() -> None:
    code = (
        "import os; before = dict(os.environ)\n"
        "import assistant, assistant.api, assistant.answer, assistant.llm, assistant.evaluate\n"
        "from assistant import Assistant, Settings\n"
        "print(sorted(set(os.environ.items()) ^ set(before.items())))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_", "TOKENIZERS_"))}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_building_the_embedder_sets_the_offline_defaults_the_user_left_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.providers import OFFLINE_ENVIRONMENT, offline_environment

    for name in OFFLINE_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "true")  # the user's own choice wins
    offline_environment()
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TOKENIZERS_PARALLELISM"] == "true"


def test_needs_first_ingest_only_on_an_empty_store_with_auto_ingest(tmp_path: Path, store_copy: Path) -> None:
    from assistant.config import Settings

    assert Assistant(Settings(store_dir=tmp_path / "empty")).needs_first_ingest()
    assert not Assistant(Settings(store_dir=tmp_path / "empty2"), auto_ingest=False).needs_first_ingest()
    assert not Assistant(Settings(store_dir=store_copy)).needs_first_ingest()


# -- what a library user gets wrong, said at once (a first-use pass through the Python API) ------------------
def test_one_string_is_one_name_path_or_id_never_a_list_of_letters(assistant: Assistant, tmp_path: Path) -> None:
    from assistant import Filters
    from assistant.errors import CorpusError

    assert Filters.parse(authors="Chen").authors == ("Chen",) and Filters(authors="Rivera").authors == ("Rivera",)  # type: ignore[arg-type]
    assert Filters(categories="cs").describe() == "category cs"  # type: ignore[arg-type]
    pid = assistant.papers(limit=1)[0].id
    assert assistant.export(pid, "RIS").count("TY  -") == 1  # type: ignore[arg-type]
    missing = tmp_path / "nowhere.jsonl"
    with pytest.raises(CorpusError, match=r"not found: .*nowhere\.jsonl;"):
        Assistant(assistant.settings).ingest(str(missing))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda a: a.retrieve("kernels", mode="sparse"), "retrieval mode must be one of dense, bm25, hybrid"),
        (lambda a: a.retrieve("kernels", k=0), "k must be a whole number of 1 or more"),
        (lambda a: a.retrieve("kernels", k="3"), "k must be a whole number"),
        (lambda a: a.similar(a.papers(limit=1)[0].id, k=-2), "k must be a whole number"),
        (lambda a: a.papers(limit=-1), "limit must be a whole number of 0 or more"),
        (lambda a: a.export(None, "json"), "export format must be one of bibtex, ris, csv"),
        (lambda a: a.ask("kernels", llm="gpt"), "answer mode must be one of extractive, openai, openai-compatible, not 'gpt'"),
        (lambda a: a.ask("kernels", llm="openai"), "set ASSISTANT_LLM=openai to use it"),
    ],
)
def test_bad_arguments_are_refused_with_what_is_accepted(assistant: Assistant, call: object, error: str) -> None:
    from assistant import ConfigError

    with pytest.raises(ConfigError, match=error):
        call(assistant)  # type: ignore[operator]


@pytest.mark.parametrize("call", ["ask", "stream", "retrieve"])
def test_filters_that_are_no_filters_are_refused_saying_how_to_make_them(assistant: Assistant, call: str) -> None:
    """filters={"year": "2020"} failed with "'dict' object has no attribute 'admits'"."""
    with pytest.raises(TypeError, match=r"filters must be a Filters, e\.g\. Filters\.parse\(year=.*not dict"):
        result = getattr(assistant, call)("kernels", filters={"year": "2020"})
        list(result) if call == "stream" else None


@pytest.mark.parametrize("history", ["What is symbolic autoencoding?", ["What is symbolic autoencoding?"], [{"q": "x"}]])
def test_a_history_in_a_shape_we_do_not_read_is_refused_not_dropped(assistant: Assistant, history: object) -> None:
    with pytest.raises(TypeError, match="history"):
        assistant.ask("What problem do they address?", history=history)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="history"):
        next(iter(assistant.stream("What problem do they address?", history=history)))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="a paper id is a string"):
        assistant.paper(None)  # type: ignore[arg-type]


def test_any_iterable_of_paths_and_a_numpy_k_are_taken(assistant: Assistant) -> None:
    import numpy as np

    assert len(assistant.retrieve("kernels", k=np.int64(3))) == 3
    assert assistant.export(iter([assistant.papers(limit=1)[0].id]), "csv").count("\n") == 2  # a generator of ids
    with pytest.raises(TypeError, match="paper ids are strings"):
        assistant.similar_to_each([None])  # type: ignore[list-item]


def test_a_pronoun_after_what_a_question_asks_about_still_needs_the_earlier_question(assistant: Assistant) -> None:
    answer = assistant.ask("What problem do they address?")
    assert answer.abstained and "follow-up to an earlier question" in answer.text


def test_evaluate_refuses_an_unknown_option_and_an_unwritable_report_folder(assistant: Assistant, tmp_path: Path) -> None:
    from assistant import ConfigError

    questions = Path(__file__).parent / "questions.jsonl"
    with pytest.raises(TypeError, match="unknown option mode"):
        assistant.evaluate(questions, mode="bm25")  # type: ignore[call-arg]
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot write the report into"):
        assistant.evaluate(questions, modes="bm25", out=blocker / "sub")


def test_an_answers_repr_leaves_out_the_retrieved_abstracts(assistant: Assistant) -> None:
    answer = assistant.ask("What does the neural tangent kernel describe?")
    assert answer.passages and answer.passages[0].text not in repr(answer) and answer.text in repr(answer)


def test_the_public_names_and_types_are_importable_from_the_package() -> None:
    import assistant as package

    assert sorted(package.__all__) == sorted(package._HOMES)  # every public name has a home, and only they
    for name in package.__all__:
        assert getattr(package, name).__name__ == name
    assert "Assistant" in dir(package)  # the lazy names too (the wheel's py.typed: test_packaging)
