"""What ships: every prompt file loads with its slots, and .env.example documents every setting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.prompts import CANNOT_ANSWER, SLOTS, PromptError, bundled, load, slots_of


@pytest.mark.parametrize("name", sorted(SLOTS))
def test_bundled_prompts_load(name: str) -> None:
    assert slots_of(load(name)) == SLOTS[name]


def test_system_prompt_carries_the_shared_abstention_sentence() -> None:
    text = load("answer_system").format(max_sentences=5, cannot_answer=CANNOT_ANSWER)
    assert CANNOT_ANSWER in text and "data" in text


def test_a_prompt_with_wrong_slots_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "condense.txt").write_text("{history} {oops}")
    with pytest.raises(PromptError, match="oops"):
        load("condense", tmp_path)


def test_the_shipped_templates_are_package_resources() -> None:
    assert {f"{name}.txt" for name in SLOTS} <= {entry.name for entry in bundled().iterdir()}


def test_a_missing_prompt_says_to_reinstall_and_is_an_assistant_error(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match="reinstall the package") as caught:
        load("condense", tmp_path)
    assert isinstance(caught.value, AssistantError)  # so the CLI and the page show the message, not a traceback


def test_default_seeds_fall_back_to_the_shipped_copy_outside_a_clone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSISTANT_SEEDS_DIR")  # the autouse fixture's cwd is a temp folder with no seeds/
    shipped = sorted(p.name for p in Settings().seeds_dir.glob("*.txt"))
    assert shipped == sorted(p.name for p in (ROOT / "seeds").glob("*.txt")) and len(shipped) == 4
    assert Settings(seeds_dir="mine").seeds_dir == Path("mine")  # a folder the user names is never replaced


def test_env_example_documents_every_setting() -> None:
    text = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*(ASSISTANT_[A-Z0-9_]+)=", text, flags=re.MULTILINE))
    expected = {f"ASSISTANT_{name.upper()}" for name in Settings.model_fields}
    assert expected == documented
