"""What real models write (citation styles, reasoning blocks, refusals, markup), read as answers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from scripted_llm import ScriptedLLM  # noqa: E402

from assistant.api import Assistant  # noqa: E402
from assistant.cite import markers, validate  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.modeltext import clean, refuses  # noqa: E402
from assistant.prompts import CANNOT_ANSWER  # noqa: E402


@pytest.mark.parametrize(("raw", "cited"), [
    ("Kernels describe training [1-3].", [1, 2, 3]),
    ("Kernels describe training [1–2].", [1, 2]),
    ("Kernels describe training [Source 1].", [1]),
    ("Kernels describe training [Source 1, Source 2].", [1, 2]),
    ("Kernels describe training [Sources 1 and 3].", [1, 3]),
    ("核函数描述训练过程【1】，并且收敛【2】。", [1, 2]),
    ("Kernels describe training.[^1]", [1]),
    ("According to Source 2, kernels describe training.", [2]),
    ("Kernels describe training.\n\nSources: 1, 2", [1, 2]),
    ("Kernels describe training [1].\n\nReferences:\n[1] A paper\n[2] Another paper", [1]),
    ("Kernels describe training [1](https://arxiv.org/abs/1806.07572) and converge [2](#source-2).", [1, 2]),
])
def test_citation_styles_become_markers(raw: str, cited: list[int]) -> None:
    assert sorted(set(markers(clean(raw).text))) == cited


def test_a_marker_written_as_a_link_keeps_no_trace_of_its_target() -> None:
    raw = "Kernels describe training [1](https://arxiv.org/abs/1806.07572), and converge [2](#source-2)."
    assert clean(raw).text == "Kernels describe training [1], and converge [2]."


def test_reasoning_is_kept_apart_and_its_markers_do_not_count() -> None:
    done = clean("<think>Source [3] is off topic; [1] fits.</think>\nThe NTK describes training [1].")
    assert done.text == "The NTK describes training [1]." and "[3]" in done.reasoning and not done.unfinished_reasoning
    cut = clean("<think>Let me look at [2] and")
    assert cut.text == "" and cut.unfinished_reasoning


def test_markup_prefixes_fences_and_echoed_tags_are_removed() -> None:
    raw = '```\nAnswer: <source n="1">It</source> works [1]. ![x](http://evil/x.png)<script>alert(1)</script> See [docs](https://evil).\n```'
    assert clean(raw).text == "It works [1]. See docs."


@pytest.mark.parametrize("text", [
    "The provided abstracts don't answer this question.",
    "The sources do not contain information about GPUs.",
    "Unfortunately, the given context does not mention the hardware used.",
    "None of the abstracts mentions the hardware.",
    "I could not find the answer in the provided sources.",
])
def test_refusals_are_recognised_in_their_common_wordings(text: str) -> None:
    assert refuses(text)


def test_ordinary_answers_are_not_refusals() -> None:
    assert not refuses("The abstracts show that kernels describe training [1].")
    assert not refuses("Dropout does not answer to the same scaling law [2].")
    assert not refuses("None of the layers address memory; I cannot find a faster kernel [1].")


def _assistant(store: Path, *replies: str) -> Assistant:
    return Assistant(Settings(store_dir=store), llm=ScriptedLLM(script=list(replies)))


QUESTION = "What does the neural tangent kernel describe?"


def test_a_reasoning_models_answer_cites_only_what_its_answer_cites(small_store: Path) -> None:
    answer = _assistant(small_store, "<think>[3] is unrelated, [2] too.</think>It describes training in function space [1].").ask(QUESTION)
    assert answer.text == "It describes training in function space [1]." and len(answer.citations) == 1
    assert "<think>" in answer.raw_text


def test_an_answer_cut_off_inside_its_reasoning_is_answered_offline_with_a_notice(small_store: Path) -> None:
    answer = _assistant(small_store, "<think>The first source says").ask(QUESTION)
    assert answer.mode == "extractive" and answer.notice and "stopped inside its reasoning" in answer.notice
    assert answer.citations and "<think>" not in answer.text


def test_a_paraphrased_refusal_abstains_but_a_refusal_with_a_cited_part_does_not(small_store: Path) -> None:
    model = _assistant(small_store, "The provided abstracts don't answer this question.")
    refused = model.ask("What GPU did the neural tangent kernel paper use?")
    assert refused.abstained and refused.text.startswith(CANNOT_ANSWER)
    assert len(model.llm.prompts) == 1  # type: ignore[union-attr]  # the model's own refusal, read as one
    partial = _assistant(small_store, f"{CANNOT_ANSWER} However, the NTK describes training in function space [1].").ask(QUESTION)
    assert not partial.abstained and partial.citations and partial.support == "partial"


def test_validation_after_cleaning_renumbers_ranges() -> None:
    checked = validate(clean("A [2-3]. B [1].").text, 3)
    assert checked.text == "A [1][2]. B [3]." and checked.sources == [2, 3, 1]


@pytest.mark.parametrize("reply", [
    "Sure! Here is the standalone question:\nWhat problem do martingale posterior neural processes address?",
    "https://example.org/mpnp\nWhat problem do martingale posterior neural processes address?",
    "<think>They means MPNP.</think>Standalone question: \"What problem do martingale posterior neural processes address?\"",
])
def test_a_follow_up_rewrite_is_its_question_line_not_a_preamble_or_a_link(reply: str) -> None:
    from assistant.followup import standalone_line

    assert standalone_line(reply, 2000) == "What problem do martingale posterior neural processes address?"
