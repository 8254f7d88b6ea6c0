"""`assistant llm check` against the real-HTTP scripted server: what it finds, and its exit codes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from conftest import closed_port_url  # noqa: E402
from fake_openai import FakeOpenAI, Reply  # noqa: E402

from assistant.cli import main  # noqa: E402
from assistant.prompts import CANNOT_ANSWER  # noqa: E402


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        for key, value in {
            "ASSISTANT_LLM": "openai-compatible", "ASSISTANT_LLM_BASE_URL": fake.base_url,
            "ASSISTANT_LLM_MODEL": "tiny", "ASSISTANT_LLM_API_KEY": "sk-test-SECRET123",
            "ASSISTANT_LLM_TIMEOUT": "5", "ASSISTANT_LLM_RETRIES": "0",
        }.items():
            monkeypatch.setenv(key, value)
        yield fake


def test_a_good_server_passes_and_a_dropped_system_message_is_a_note(
    server: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    server.script(
        Reply(text="Hello there, nice to meet you."),
        Reply(text="<think>Source 2 says so.</think>Beta runs three times faster [Source 2]."),
        Reply(text=CANNOT_ANSWER),
        Reply(text="Paris."),  # the template dropped the system message
    )
    assert main(["llm", "check"]) == 0
    out, err = capsys.readouterr()
    lines = {line.split(":")[0].strip(): line for line in out.splitlines()[1:]}
    assert lines["ok  reachable"].endswith("s") and "model tiny" in lines["ok  reachable"]
    assert "tokens/s" in lines["ok  first token"]
    assert "right source (after reading its own citation style)" in lines["ok  cites [n]"]
    assert "exact cannot-answer sentence" in lines["ok  refuses"]
    assert "ignored" in lines["note  system message"] and "reasoning block" in lines["note  reasoning"]
    assert "abstracts of 400 words fit" in lines["note  context window"]
    assert "SECRET123" not in out + err
    prompts = [r["messages"][-1]["content"] for r in server.requests]
    assert "How much faster" in prompts[1] and "GPU" in prompts[2] and len(server.requests) == 4


def test_a_reasoning_model_cut_off_while_thinking_is_told_to_get_more_tokens(
    server: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was told "no usable [n] marker … try a larger model" and "answered a question its sources cannot
    answer" (with an empty reply), and the reasoning note came twice."""
    cut = Reply(text="<think>Let me look at each source in turn, starting with", finish="length")
    server.script(Reply(text="Hi."), cut, cut, Reply(text="BANANA"))
    assert main(["llm", "check"]) == 1
    out = capsys.readouterr().out
    advice = "stopped inside its reasoning at its token limit: raise ASSISTANT_LLM_MAX_TOKENS (now 512)"
    assert f"FAIL  cites [n]: {advice}" in out and f"FAIL  refuses: {advice}" in out
    assert out.count("note  reasoning") == 1 and "instruction-tuned" not in out


def test_a_model_that_neither_cites_nor_refuses_fails_with_advice(
    server: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    server.script(
        Reply(text="Hi."), Reply(text="It is faster."), Reply(text="They used an A100."), Reply(text="BANANA")
    )
    assert main(["llm", "check"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  cites [n]: no usable [n] marker" in out and "instruction-tuned" in out
    assert "FAIL  refuses: answered a question its sources cannot answer" in out
    assert "  ok  system message: obeyed" in out


def test_full_sends_a_window_sized_prompt_and_reports_a_smaller_server(
    server: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    server.script(
        Reply(text="Hi."), Reply(text="Three times faster [2]."), Reply(text=CANNOT_ANSWER), Reply(text="BANANA"),
        Reply(status=400, text="This model's maximum context length is 2048 tokens"),
    )
    assert main(["llm", "check", "--full"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  context window" in out and "lower it" in out
    assert len(server.requests[-1]["messages"][-1]["content"]) > 4 * len(server.requests[1]["messages"][-1]["content"])


@pytest.mark.parametrize("read_whole", [True, False])
def test_full_fills_the_window_and_finds_a_server_that_reads_only_its_end(
    server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], read_whole: bool
) -> None:
    """The window prompt fills what ASSISTANT_LLM_CONTEXT_WINDOW leaves (it was top_k x 400 words whatever the
    window), and its start must reach the model: Ollama keeps the end of a prompt longer than its num_ctx."""
    from llama_index.core.base.llms.types import ChatMessage

    from assistant.llm import chat_tokens

    monkeypatch.setenv("ASSISTANT_LLM_CONTEXT_WINDOW", "16384")
    server.script(
        Reply(text="Hi."), Reply(text="Three times faster [2]."), Reply(text=CANNOT_ANSWER), Reply(text="BANANA"),
        Reply(text="The code word is PAPAYA [1]." if read_whole else "The abstracts repeat one word [2]."),
    )
    assert main(["llm", "check", "--full"]) == (0 if read_whole else 1)
    out = capsys.readouterr().out
    sent = chat_tokens([ChatMessage(**m) for m in server.requests[-1]["messages"]])
    assert 0.9 * (16384 - 512) < sent <= 16384 - 512  # the default ASSISTANT_LLM_MAX_TOKENS (512) is the reply's
    if read_whole:
        assert "  ok  context window: ASSISTANT_LLM_CONTEXT_WINDOW 16384" in out and f"read a {sent}-token prompt" in out
    else:
        assert "FAIL  context window" in out and "it may read only the end of long prompts" in out


def test_an_unreachable_server_exits_3(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ASSISTANT_LLM", "openai-compatible")
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", closed_port_url())
    monkeypatch.setenv("ASSISTANT_LLM_RETRIES", "0")
    assert main(["llm", "check"]) == 3
    out = capsys.readouterr().out
    assert "FAIL  reachable" in out and "could not connect" in out and len(out.splitlines()) == 2


def test_a_server_that_refuses_the_model_is_reachable_and_names_what_it_offers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ollama's 404 for a model not pulled: the server answered, so not "unreachable" (exit 3), and the
    models it lists are named."""
    with FakeOpenAI(default=Reply(status=404, text="model 'tiny' not found, try pulling it first"),
                    models=["qwen2.5:7b", "llama3.2"]) as fake:
        for key, value in {"ASSISTANT_LLM": "openai-compatible", "ASSISTANT_LLM_BASE_URL": fake.base_url,
                           "ASSISTANT_LLM_MODEL": "tiny", "ASSISTANT_LLM_RETRIES": "0"}.items():
            monkeypatch.setenv(key, value)
        code = main(["llm", "check"])
    out = capsys.readouterr().out.splitlines()
    assert code == 1 and out[1] == f"  ok  reachable: 127.0.0.1:{fake.port} answered, but refused the request"
    assert out[2] == (f"FAIL  accepted: 127.0.0.1:{fake.port} model tiny: HTTP 404, check ASSISTANT_LLM_MODEL and "
                      "ASSISTANT_LLM_BASE_URL (or OPENAI_BASE_URL); ASSISTANT_LLM_MODEL is 'tiny', and the server offers llama3.2, qwen2.5:7b")


def test_a_server_too_slow_to_finish_is_reachable_and_fails_on_speed(
    server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSISTANT_LLM_TIMEOUT", "1.5")
    server.default = Reply(text="Hello there my good friend, how are you today? " * 3, chunk_delay=0.3)
    assert main(["llm", "check"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1].endswith("answered, but slowly") and out[2].startswith("FAIL  speed: ")
    assert "no complete reply within 1.5 s; a slower model needs a larger ASSISTANT_LLM_TIMEOUT" in out[2]


def test_the_offline_mode_has_nothing_to_check(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ASSISTANT_LLM", "extractive")
    assert main(["llm", "check"]) == 2
    assert "set it to openai or openai-compatible" in capsys.readouterr().err
