"""Answer engines assembled from injected parts: a scripted LLM in-process, no HTTP server."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from conftest import SEEDS  # noqa: E402
from scripted_llm import ScriptedLLM  # noqa: E402

from assistant.answer import CitedResponse, ExtractiveEngine  # noqa: E402
from assistant.api import Assistant  # noqa: E402
from assistant.cite import all_resolve  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.llm import LLMEngine  # noqa: E402
from assistant.prompts import CANNOT_ANSWER  # noqa: E402
from assistant.types import Final, Paper, Status, TextDelta  # noqa: E402

QUESTION = "What does the neural tangent kernel describe?"


def scripted(store: Path, *replies: object) -> tuple[Assistant, ScriptedLLM]:
    llm = ScriptedLLM(script=list(replies))
    return Assistant(Settings(store_dir=store, seeds_dir=SEEDS), llm=llm, auto_ingest=False), llm


def test_an_injected_llm_writes_a_validated_cited_answer(small_store: Path) -> None:
    a, llm = scripted(small_store, "The NTK describes training dynamics [1]. Nothing else [9].")
    answer = a.ask(QUESTION)
    assert not answer.abstained and answer.mode == "openai-compatible"
    assert answer.text == "The NTK describes training dynamics [1]. Nothing else."
    assert answer.dropped_markers == 1 and all_resolve(answer.text, len(answer.citations))
    assert [c.n for c in answer.citations] == [1]
    assert "tangent kernel" in answer.citations[0].title.lower()
    assert answer.citations[0].quote in a.paper(answer.citations[0].paper_id).abstract  # type: ignore[union-attr]
    (prompt,) = llm.prompts
    assert QUESTION in prompt and '<source n="1"' in prompt


def test_an_injected_llm_streams_the_answer_as_it_will_be_numbered(small_store: Path) -> None:
    a, _ = scripted(small_store, "It describes gradient descent in function space [2][1].")
    events = list(a.stream(QUESTION))
    assert [e.stage for e in events if isinstance(e, Status)] == ["retrieving", "waiting", "writing"]
    final = events[-1]
    assert isinstance(final, Final) and final.answer.text.endswith("[1][2].")  # renumbered by first use
    # The stream already shows the final numbers, so the words above the reference list never disagree.
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == final.answer.text


@pytest.mark.parametrize("streamed", [False, True])
def test_the_model_is_asked_the_question_as_the_abstracts_spell_it(small_store: Path, streamed: bool) -> None:
    a, llm = scripted(small_store, "It describes the training of wide networks [1].")
    typed = "What does the neural tangent kernal describe?"
    answer = a.ask(typed) if not streamed else next(e for e in a.stream(typed) if isinstance(e, Final)).answer
    (prompt,) = llm.prompts
    assert "neural tangent kernel describe" in prompt and "kernal" not in prompt
    assert answer.question == typed and (answer.notice or "").startswith("Read “kernal” as “kernel”")
    assert "tangent kernel" in answer.citations[0].title.lower()


def test_the_shared_sentence_from_an_injected_llm_is_an_abstention(small_store: Path) -> None:
    a, _ = scripted(small_store, CANNOT_ANSWER)
    answer = a.ask("What GPU did the NTK authors use?")
    assert answer.abstained and answer.citations == [] and answer.text.startswith(CANNOT_ANSWER)


def test_a_failing_injected_llm_falls_back_to_the_offline_answer(small_store: Path) -> None:
    a, llm = scripted(small_store, *[ValueError("garbage")] * 3)  # garbage is retried (ASSISTANT_LLM_RETRIES 2)
    answer = a.ask(QUESTION)
    assert answer.mode == "extractive" and answer.notice and "malformed response" in answer.notice
    assert len(llm.prompts) == 3 and not llm.script
    assert answer.citations and all_resolve(answer.text, len(answer.citations))


def test_a_failed_stream_says_it_fell_back_before_its_warning_is_logged(
    small_store: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The warning on stderr landed on the line of the broken-off streamed text ("… [1].the LLM at … was
    unavailable"): the terminal ends that line when it reads the fallback status, so the status comes first."""
    a, _ = scripted(small_store, *[ValueError("garbage")] * 3)

    def warned() -> list[logging.LogRecord]:
        return [r for r in caplog.records if "was unavailable" in r.getMessage()]

    at_fallback = None
    for event in a.stream(QUESTION):
        if isinstance(event, Status) and event.stage == "fallback":
            at_fallback = warned()
    assert at_fallback == [] and len(warned()) == 1


def test_follow_ups_are_rewritten_by_the_injected_llm_before_retrieval(small_store: Path) -> None:
    standalone = "What problem do martingale posterior neural processes address?"
    a, llm = scripted(small_store, standalone, "They address uncertainty [1].")
    answer = a.ask("What problem do they address?", history=[("What are martingale posterior neural processes?", "…")])
    assert "User: What are martingale posterior neural processes?" in llm.prompts[0]
    assert f"Question: {standalone}" in llm.prompts[1]
    assert answer.question == "What problem do they address?"
    assert any("martingale" in p.title.lower() for p in answer.passages)


def test_engines_are_built_once_per_settings_and_answer_as_llamaindex_query_engines(small_store: Path) -> None:
    a, llm = scripted(small_store, "The NTK describes training [1].")
    state = a._ready()
    llm_engine = a._engine(state, a.settings)
    assert isinstance(llm_engine, LLMEngine) and a._engine(state, a.settings) is llm_engine
    offline = a._engine(state, a.settings_for(llm="extractive"))
    assert isinstance(offline, ExtractiveEngine) and offline is not llm_engine
    response = llm_engine.query(QUESTION)  # LlamaIndex's own entry point
    assert isinstance(response, CitedResponse) and response.answer is not None
    assert response.response == response.answer.text and response.source_nodes
    assert llm.script == []


def test_extractive_settings_without_an_llm_never_build_one(small_store: Path) -> None:
    a = Assistant(Settings(store_dir=small_store, seeds_dir=SEEDS))
    assert a.llm is None
    answer = a.ask(QUESTION)
    assert answer.mode == "extractive" and answer.citations


@pytest.mark.parametrize("override", ["openai", "openai-compatible"])
def test_an_llm_mode_that_is_not_configured_is_refused(small_store: Path, override: str) -> None:
    from assistant.errors import ConfigError

    a = Assistant(Settings(store_dir=small_store, seeds_dir=SEEDS))
    with pytest.raises(ConfigError):
        a.ask(QUESTION, llm=override)  # type: ignore[arg-type]


LISTED = "The NTK has two properties [1]:\n\n1. it describes how a network trains [1]\n2. it stays constant in the infinite-width limit [1]"


@pytest.mark.parametrize(
    ("reply", "support"),
    [
        ("The NTK describes how a network trains [1]. It stays constant in the infinite-width limit [1].", "strong"),
        # the second source never says so: a marker on a claim its abstract does not hold backs nothing
        ("The NTK describes how a network trains [1]. It stays constant in the infinite-width limit [2].", "partial"),
        ("The NTK describes how a network trains [1]. It stays constant in the infinite-width limit.", "partial"),
        ("The NTK describes how a network trains [1]. It stays constant in the infinite-width limit [9].", "partial"),
        ("The NTK describes how a network trains.", "none"),
        # read as the page lays it out: a list item ends its sentence, so the claim after the list cites nothing
        (LISTED + "\n\nIt also explains why wide networks generalise so well.", "partial"),
        (LISTED, "strong"),
        # a short aside or a lead-in claims nothing a source must back, and the page marks neither
        ("The NTK describes how a network trains [1]. In short, yes. It stays constant in the infinite-width limit [1].", "strong"),
    ],
)
def test_an_llm_answer_says_how_well_the_abstracts_support_it(small_store: Path, reply: str, support: str) -> None:
    from assistant.ui import render

    a, _ = scripted(small_store, reply)
    answer = a.ask(QUESTION)
    assert answer.support == support and answer.to_json()["support"] == support
    if not answer.dropped_markers and "[2]" not in reply:  # what the page marks agrees with the label
        page = render.render_answer(answer.text, 1, answer, model=True)
        assert (page.count('class="aa-uncited"') == 1) == (support != "strong"), page


def test_an_extractive_answer_carries_a_support_level(small_store: Path) -> None:
    from assistant.answer import STRONG_EVIDENCE

    a = Assistant(Settings(store_dir=small_store, seeds_dir=SEEDS), auto_ingest=False)
    strong = a.ask(QUESTION)
    assert strong.support == "strong" and STRONG_EVIDENCE > a.settings.abstain_threshold
    assert a.ask("What GPU did the authors of the NTK paper train on?").support == "none"  # abstained


def test_a_follow_up_asked_first_says_it_needs_the_earlier_question(small_store: Path) -> None:
    a = Assistant(Settings(store_dir=small_store, seeds_dir=SEEDS), auto_ingest=False)
    first = a.ask("And how do they differ?")
    assert first.abstained and first.citations == [] and "follow-up" in first.text and "“they”" in first.text
    after = a.ask("And how do they differ?", history=[("Which papers study post-training quantization?", "…")])
    assert not after.abstained and after.citations
    llm_first = scripted(small_store)[0].ask("How is it trained?")  # the model is never asked
    assert llm_first.abstained and "follow-up" in llm_first.text


def test_a_follow_up_does_not_repeat_the_previous_answer(small_store: Path) -> None:
    from assistant.text import split_sentences

    a = Assistant(Settings(store_dir=small_store, seeds_dir=SEEDS), auto_ingest=False)
    previous = a.ask(QUESTION)
    follow = a.ask("What more does it show?", history=[(QUESTION, previous.text)])
    assert follow.citations and not set(split_sentences(previous.text)) & set(split_sentences(follow.text))


def test_a_question_of_its_own_later_in_a_conversation_gets_its_best_sentence_said_before_or_not(small_store: Path) -> None:
    """Only a follow-up avoids what was said: "How much accuracy does LoRA retain?" asked after an answer that
    quoted the sentence holding it was answered by a lesser sentence."""
    a = Assistant(Settings(store_dir=small_store, seeds_dir=SEEDS), auto_ingest=False)
    alone = a.ask(QUESTION)
    later = a.ask(QUESTION, history=[("Which papers study post-training quantization?", "…"), (QUESTION, alone.text)])
    assert later.text == alone.text


def test_a_follow_up_about_them_answers_from_the_papers_just_cited(assistant: Assistant) -> None:
    """"How do they differ?" after "Which papers study state space models?" also cited a paper on climate
    models, whose sentence held "differences"; the answer now comes from the papers the previous answer cited."""
    from assistant.followup import cited_texts

    a = assistant
    first = "Which papers study state space models?"
    previous = a.ask(first)
    cited = {c.paper_id for c in previous.citations}
    assert len(cited) >= 2
    for follow in ("How do they differ?", "Which of them is faster?"):
        answer = a.ask(follow, history=[(first, previous.text)])
        assert answer.citations and {c.paper_id for c in answer.citations} <= cited, follow
    assert cited_texts("How do they differ?", [(first, "A holds [1]. B holds [2].")]) == ["A holds", "B holds"]
    assert cited_texts("How do they differ?", [(first, "A holds [1].")]) == []  # one paper: "they" is its authors
    assert cited_texts("What about the second one?", [(first, "A holds [1]. B holds [2].")]) == []


def test_how_do_they_differ_quotes_each_paper_the_last_answer_cited(assistant: Assistant) -> None:
    """"How do they differ?" after two pruning papers quoted one of them: the other's unsaid sentences scored
    under the keep ratio of the first's."""
    first = "Which papers study pruning?"
    previous = assistant.ask(first)
    cited = [c.paper_id for c in previous.citations]
    assert len(cited) == 2
    answer = assistant.ask("How do they differ?", history=[(first, previous.text)])
    assert sorted(c.paper_id for c in answer.citations) == sorted(cited), answer.text


def test_what_about_after_a_library_search_searches_the_new_topic(assistant: Assistant) -> None:
    """"What about quantization?" after "Which papers study pruning?" quoted a pruning sentence first: the query
    was both questions; and "How do they differ?" next compared the pruning papers."""
    from assistant.followup import followup_query

    history = [("Which papers study pruning?", assistant.ask("Which papers study pruning?").text)]
    about = assistant.ask("What about quantization?", history=history)
    wanted = {c.paper_id for c in assistant.ask("Which papers are about quantization?").citations}
    assert {c.paper_id for c in about.citations} == wanted, about.text
    history.append(("What about quantization?", about.text))
    differ = assistant.ask("How do they differ?", history=history)
    assert {c.paper_id for c in differ.citations} == wanted, differ.text
    # what the earlier papers did, and a place, stay with the earlier subject
    for aside in ("What about their datasets?", "What about on ImageNet?", "And how do they compare?",
                  "What about limitations?", "What about the datasets?", "And the results?"):
        assert followup_query(aside, history[:1]).startswith("Which papers study pruning? "), aside


def test_a_follow_up_stays_with_its_paper_once_the_earlier_answers_quoted_it(assistant: Assistant) -> None:
    """The third question on flow matching was answered from two fine-tuning papers: the earlier answers had
    quoted every sentence of its abstract that bears on diffusion models, and what was left of the others ranked
    first. It now repeats the closest sentence, and says so."""
    from assistant.answer import SAID_BEFORE
    from assistant.text import split_sentences

    history: list[tuple[str, str]] = []
    for question in ("What is flow matching?", "How does it compare to diffusion models?"):
        history.append((question, assistant.ask(question, history=history).text))
    paper = assistant.ask("What is flow matching?").citations[0].paper_id
    answer = assistant.ask("Is that better than diffusion models?", history=history)
    assert [c.paper_id for c in answer.citations] == [paper], answer.text
    said = {s for _, text in history for s in split_sentences(text)}
    assert set(split_sentences(answer.text)) <= said and answer.notice == SAID_BEFORE
    # a follow-up with something unsaid to give gives it, with no such notice
    more = assistant.ask("Tell me more.", history=history[:1])
    first_said = set(split_sentences(history[0][1]))
    assert more.citations[0].paper_id == paper and not set(split_sentences(more.text)) & first_said and more.notice is None


def test_a_follow_up_pointing_past_the_papers_cited_says_so(assistant: Assistant) -> None:
    """"Who wrote the second one?" after an answer citing one paper named the authors of that one."""
    first = "What is neural collapse?"
    previous = assistant.ask(first)
    assert len(previous.citations) == 1
    for follow in ("Who wrote the second one?", "Tell me more about paper [3].", "What does the third one propose?"):
        answer = assistant.ask(follow, history=[(first, previous.text)])
        assert answer.abstained and not answer.citations, follow
        assert answer.text.startswith("The last answer cited only one paper, not “"), answer.text
        # ... and the conversation goes on about the paper it cited: "When was it published?" after the refusal had
        # looked for a paper the refusal's "([1])" seemed to cite, and said "it" pointed at nothing
        then = assistant.ask("Who wrote it?", history=[(first, previous.text), (follow, answer.text)])
        assert "without saying what that is" not in then.text, then.text
    # "the last one" of one paper is that paper; a refusal between cites none, so the list before is meant
    assert assistant.ask("Tell me about the last one.", history=[(first, previous.text)]).citations
    refused = assistant.ask("What is the main limitation of PowerNorm?")
    assert refused.abstained
    history = [(first, previous.text), ("What is the main limitation of PowerNorm?", refused.text)]
    answer = assistant.ask("What about the third one?", history=history)
    assert answer.text.startswith("The last answer cited only one paper"), answer.text


def test_a_follow_up_naming_a_paper_by_its_place_answers_from_that_paper(small_store: Path) -> None:
    from assistant.abstain import names
    from assistant.followup import cited_paper_text, missing_antecedent

    a = Assistant(Settings(store_dir=small_store, seeds_dir=SEEDS), auto_ingest=False)
    first = "Which papers study post-training quantization?"
    previous = a.ask(first)
    assert len(previous.citations) >= 2
    for follow in ("What about the second one?", "Tell me more about paper [2].", "And the last one?",
                   "Tell me about the latter.", "What does the former propose?"):
        answer = a.ask(follow, history=[(first, previous.text)])
        wanted = previous.citations[-1 if "last" in follow or "latter" in follow else 0 if "former" in follow else 1].paper_id
        assert [c.paper_id for c in answer.citations] == [wanted], follow
    # asked first, it needs the earlier question; a paper of its own ("the first paper to …") is no reference
    assert missing_antecedent("What about the second one?", None) == "the second one"
    assert missing_antecedent("Who wrote it?", None) == "it"  # was the plain abstention: "wrote" looked like a topic
    assert missing_antecedent("Who wrote the paper on grokking?", None) is None
    assert missing_antecedent("How is that fixed?", None) == "that"  # "that" standing for a thing
    assert missing_antecedent("Is it true that grokking needs weight decay?", None) is None  # "that" joining a clause
    assert a.ask("Who wrote it?").text.startswith("This reads like a follow-up to an earlier question (it says “it”")
    assert cited_paper_text("Which is the first paper to prove grokking?", [(first, previous.text)]) is None
    assert cited_paper_text("Is there a reference 3D model?", [(first, previous.text)]) is None
    assert cited_paper_text("How does grokking emerge in the latter stages of training?", [(first, previous.text)]) is None
    assert missing_antecedent("Between PowerNorm and BatchNorm, why is the latter unstable?", None) is None
    assert cited_paper_text("What does the second one propose?", [(first, "A holds [1]. B holds [2]. C too [1][2].")]) == "B holds C too"
    assert names("What is SaRA? Summarize it. And PowerNorm?") == ["SaRA", "PowerNorm"]  # not "Summarize"


def test_an_injected_llm_stream_names_the_papers_it_reads_before_it_writes(small_store: Path) -> None:
    from assistant.types import Reading

    a, llm = scripted(small_store, "It describes gradient descent in function space [1].")
    events = list(a.stream(QUESTION))
    kinds = [e.stage if isinstance(e, Status) else e.kind for e in events]
    assert kinds[:3] == ["retrieving", "reading", "waiting"]  # the sources come before the model is waited for
    (reading,) = [e for e in events if isinstance(e, Reading)]
    (prompt,) = llm.prompts
    assert reading.papers and all(p.title in prompt for p in reading.papers)  # what the model was given
    assert reading.papers[0].paper_id in {c.paper_id for c in events[-1].answer.citations}  # type: ignore[union-attr]


def test_other_papers_are_papers_the_conversation_has_not_cited(assistant: Assistant) -> None:
    """"Which other papers study the geometry of last-layer features?" after an answer quoting the neural collapse
    paper three times was answered from that paper again."""
    from assistant.followup import cited_before

    first = "Which papers study pruning?"
    previous = assistant.ask(first)
    cited = {c.paper_id for c in previous.citations}
    assert cited
    for other in ("Are there any other papers on pruning?", "Which other works study pruning?",
                  "Anything on pruning besides these?"):
        answer = assistant.ask(other, history=[(first, previous.text)])
        assert not {c.paper_id for c in answer.citations} & cited, (other, answer.text)
        assert not {p.paper_id for p in answer.passages} & cited, other
    # asked without "other", the same papers may answer again; with no conversation nothing is left out
    again = assistant.ask("Which papers study pruning again?", history=[(first, previous.text)])
    assert {c.paper_id for c in again.citations} & cited
    assert cited_before("Which other papers study pruning?", None) == []
    assert cited_before("Which papers study pruning?", [(first, "A prunes [1].")]) == []
    assert cited_before("Which other papers study pruning?", [(first, "A prunes [1]. B too [2].")]) == ["A prunes", "B too"]


def test_other_papers_are_left_out_of_what_the_model_reads(small_store: Path, assistant: Assistant) -> None:
    first = "What does the neural tangent kernel describe?"
    said = assistant.ask(first)
    ntk = said.citations[0].paper_id
    a, llm = scripted(small_store, "Which other papers study the neural tangent kernel?", "None of them do [1].")
    a.ask("Which other papers study the neural tangent kernel?", history=[(first, said.text)])
    title = assistant.paper(ntk).title  # type: ignore[union-attr]
    assert title not in llm.prompts[-1], "the paper the conversation cited was given to the model again"


def test_an_llm_claim_its_source_does_not_hold_is_not_strong_support(small_store: Path) -> None:
    """Asked about post-training quantization, a model wrote about flow matching and cited a quantization
    abstract: the page said "support strong", as every sentence carried a marker."""
    from assistant.llm import unbacked

    a, _ = scripted(small_store, "Flow matching trains a continuous normalizing flow by solving an ordinary differential equation [1].")
    answer = a.ask("Which papers study post-training quantization?")
    assert not answer.abstained and answer.support == "partial"
    assert answer.notice and "few words with the abstract it cites" in answer.notice
    paper = Paper(id="q", title="Post-training quantization", abstract="We quantize weights after training with a calibration set.")
    assert unbacked("Weights are quantized after training using a small calibration set [1].", [paper]) == []
    assert unbacked("Flow matching solves an ordinary differential equation [1].", [paper]) == [
        "Flow matching solves an ordinary differential equation [1]."
    ]
    assert unbacked("It works [1].", [paper]) == []  # too short to judge
