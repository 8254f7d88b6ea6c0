"""What real models write, replayed by the real-HTTP scripted server, streamed and not: every row of the
"Real LLMs" table ends as one clean, checked answer (text, citations, abstention, notice, raw_text)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from conftest import SEEDS  # noqa: E402
from fake_openai import FakeOpenAI, Reply  # noqa: E402

from assistant.api import Assistant  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.prompts import CANNOT_ANSWER  # noqa: E402
from assistant.types import Answer, Final, TextDelta  # noqa: E402

QUESTION = "What does the neural tangent kernel describe?"  # four seed abstracts are close enough to be shown


class Row(NamedTuple):
    raw: str
    text: str | None  # the answer text; None: composed offline (mode extractive) or an abstention
    cited: int
    abstained: bool = False
    notice: str | None = None  # a phrase the notice holds
    support: str = "strong"


ROWS = {
    "range": Row("Kernels train [1-3].", "Kernels train [1][2][3].", 3),
    "en dash range": Row("Kernels train [1–2].", "Kernels train [1][2].", 2),
    "Source n": Row("Kernels train [Source 1].", "Kernels train [1].", 1),
    "Source list": Row("Kernels train [Source 1, Source 2].", "Kernels train [1][2].", 2),
    "fullwidth": Row("Kernels train 【1】.", "Kernels train [1].", 1),
    "footnote": Row("Kernels train [^1].", "Kernels train [1].", 1),
    "trailing sources": Row("Kernels train.\nSources: 1, 2", "Kernels train [1][2].", 2),
    "according to": Row("According to Source 2, kernels train.", "According to [1], kernels train.", 1),
    "Chinese": Row("核函数描述训练[1]。它保持不变【2】。", "核函数描述训练[1]。它保持不变[2]。", 2),
    "reasoning": Row("<think>[3] fits, then [1].</think>Kernels train [2].", "Kernels train [1].", 1),
    "unterminated reasoning": Row("<think>Still thinking about [1]", None, 1, notice="stopped inside its reasoning"),
    "refusal, contracted": Row("The provided abstracts don't answer this question.", None, 0, abstained=True, support="none"),
    "refusal, paraphrased": Row("None of the sources address this question.", None, 0, abstained=True, support="none"),
    "refusal, first person": Row(
        "I cannot answer this question based on the provided abstracts.", None, 0, abstained=True, support="none"
    ),
    "refusal with a part": Row(
        f"{CANNOT_ANSWER} However, kernels train [1].", f"{CANNOT_ANSWER} However, kernels train [1].", 1, support="partial"
    ),
    "unknown source": Row("Kernels train [9].", "Kernels train.", 0, notice="cited none", support="none"),
    "image and script": Row("Kernels train [1]. ![img](http://x.test/a.png) <script>alert(1)</script>", "Kernels train [1].", 1),
    "reference list and prefix": Row("Answer: Kernels train [1].\n\nReferences:\n[1] NTK\n[2] Other", "Kernels train [1].", 1),
    "code fence": Row("```\nKernels train [1].\n```", "Kernels train [1].", 1),
    "echoed source tags": Row('<source n="1">Kernels train [1].</source>', "Kernels train [1].", 1),
    "twelve sentences": Row(  # each a claim its source holds ("support strong"), numbered
        " ".join(f"The neural tangent kernel describes training, fact {i} [1]." for i in range(12)),
        " ".join(f"The neural tangent kernel describes training, fact {i} [1]." for i in range(4)),
        1,
        notice="wrote 12 sentences",
    ),
    "whitespace only": Row("  \n ", None, 1, notice="composed offline"),
}


@pytest.fixture(scope="module")
def served(seeded_store: Path) -> Iterator[tuple[FakeOpenAI, Assistant]]:
    with FakeOpenAI() as fake:
        settings = Settings(
            store_dir=seeded_store, seeds_dir=SEEDS, llm="openai-compatible", llm_base_url=fake.base_url,
            llm_api_key="sk-test-SECRET123", llm_model="test-model", llm_timeout=5.0, llm_retries=0,
        )
        yield fake, Assistant(settings)


def _answer(assistant: Assistant, streamed: bool) -> tuple[Answer, str | None]:
    if not streamed:
        return assistant.ask(QUESTION), None
    events = list(assistant.stream(QUESTION))
    final = events[-1]
    assert isinstance(final, Final)
    return final.answer, "".join(e.text for e in events if isinstance(e, TextDelta))


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
def test_a_reasoning_content_field_is_a_trace_not_the_answer(served: tuple[FakeOpenAI, Assistant], streamed: bool) -> None:
    fake, assistant = served
    fake.script(Reply(text="Kernels train [2].", reasoning="Source 2 is about kernels [2]; source 3 is not [3]."))
    answer, shown = _answer(assistant, streamed)
    assert answer.text == "Kernels train [1]." and len(answer.citations) == 1
    assert answer.reasoning == "Source 2 is about kernels [2]; source 3 is not [3]." and "Source 2" not in (shown or "")


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("name", sorted(ROWS))
def test_what_models_write_ends_as_one_checked_answer(
    served: tuple[FakeOpenAI, Assistant], name: str, streamed: bool
) -> None:
    fake, assistant = served
    row = ROWS[name]
    fake.script(Reply(text=row.raw))
    answer, shown = _answer(assistant, streamed)
    assert answer.abstained == row.abstained and len(answer.citations) == row.cited and answer.support == row.support
    assert [c.n for c in answer.citations] == list(range(1, row.cited + 1))
    if row.text is not None:
        assert answer.text == row.text and answer.mode == "openai-compatible"
        assert answer.raw_text == row.raw  # the model's own words, kept
        if streamed:
            assert shown == answer.text  # what streamed is what the final answer says
    elif row.abstained:
        assert answer.text.startswith(CANNOT_ANSWER)
    else:
        assert answer.mode == "extractive" and answer.citations  # composed offline from the abstracts
    if row.notice:
        assert answer.notice and row.notice in answer.notice
    elif not row.abstained:
        assert answer.notice is None
    for unsafe in ("<script", "![", "http://", "<source", "<think", "```", "References"):
        assert unsafe not in answer.text
