"""Self-tests for tests/fake_openai.py, driven by the real `openai` client over HTTP."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

sys.path.insert(0, str(Path(__file__).parent))  # works with or without tests/__init__.py

from fake_openai import STREAM_CHUNK_CHARS, FakeOpenAI, Reply  # noqa: E402

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hello?"}]


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def make_client(fake: FakeOpenAI, timeout: float = 5.0, api_key: str = "sk-test") -> openai.OpenAI:
    # max_retries=0 so scripted errors surface immediately instead of being retried.
    return openai.OpenAI(base_url=fake.base_url, api_key=api_key, max_retries=0, timeout=timeout)


def test_plain_reply_content_and_usage(fake: FakeOpenAI) -> None:
    fake.script(Reply(text="Hi there", prompt_tokens=7, completion_tokens=3))
    resp = make_client(fake).chat.completions.create(model="gpt-x", messages=MESSAGES)
    assert resp.object == "chat.completion"
    assert resp.model == "gpt-x"
    assert resp.choices[0].message.role == "assistant"
    assert resp.choices[0].message.content == "Hi there"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.total_tokens) == (7, 3, 10)


def test_default_reply_when_queue_empty() -> None:
    with FakeOpenAI(replies=[Reply(text="first")], default=Reply(text="fallback")) as fake:
        client = make_client(fake)
        texts = [
            client.chat.completions.create(model="m", messages=MESSAGES).choices[0].message.content
            for _ in range(3)
        ]
    assert texts == ["first", "fallback", "fallback"]


def test_streaming_collects_full_text_and_usage(fake: FakeOpenAI) -> None:
    text = "The quick brown fox jumps over the lazy dog."
    fake.script(Reply(text=text, prompt_tokens=4, completion_tokens=9))
    stream = make_client(fake).chat.completions.create(
        model="gpt-x", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    contents = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(contents) == text
    assert len(contents) > 1  # really split into several deltas
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 13


def test_streaming_without_include_usage_has_no_usage_chunk(fake: FakeOpenAI) -> None:
    fake.script(Reply(text="short"))
    chunks = list(make_client(fake).chat.completions.create(model="m", messages=MESSAGES, stream=True))
    assert all(c.choices for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "short"


def test_rate_limit_with_retry_after(fake: FakeOpenAI) -> None:
    fake.script(Reply(status=429, text="slow down", headers={"Retry-After": "1"}))
    with pytest.raises(openai.RateLimitError) as info:
        make_client(fake).chat.completions.create(model="m", messages=MESSAGES)
    assert info.value.status_code == 429
    assert info.value.response.headers["retry-after"] == "1"
    assert "slow down" in str(info.value)
    assert isinstance(info.value.body, dict) and info.value.body["code"] == "rate_limit_exceeded"


def test_client_retries_consume_scripted_replies(fake: FakeOpenAI) -> None:
    # Retry-After: 0 keeps the real client's retry loop fast.
    fake.script(Reply(status=429, headers={"Retry-After": "0"}), Reply(text="after retry"))
    client = openai.OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=1, timeout=5)
    resp = client.chat.completions.create(model="m", messages=MESSAGES)
    assert resp.choices[0].message.content == "after retry"
    assert len(fake.requests) == 2


def test_server_error(fake: FakeOpenAI) -> None:
    fake.script(Reply(status=500))
    with pytest.raises(openai.InternalServerError) as info:
        make_client(fake).chat.completions.create(model="m", messages=MESSAGES)
    assert info.value.status_code == 500


def test_error_status_while_streaming(fake: FakeOpenAI) -> None:
    fake.script(Reply(status=401))
    with pytest.raises(openai.AuthenticationError):
        make_client(fake).chat.completions.create(model="m", messages=MESSAGES, stream=True)


def test_raw_garbage_body_raises(fake: FakeOpenAI) -> None:
    fake.script(Reply(raw_body=b"{not json"))
    with pytest.raises((ValueError, openai.APIError)):
        make_client(fake).chat.completions.create(model="m", messages=MESSAGES)


def test_delay_longer_than_client_timeout(fake: FakeOpenAI) -> None:
    fake.script(Reply(text="too late", delay=1.5))
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        make_client(fake, timeout=0.5).chat.completions.create(model="m", messages=MESSAGES)
    assert time.monotonic() - started < 1.4


def test_cut_after_gives_partial_stream_then_error(fake: FakeOpenAI) -> None:
    text = "abcdefgh" * 5
    fake.script(Reply(text=text, cut_after=2))
    stream = make_client(fake).chat.completions.create(model="m", messages=MESSAGES, stream=True)
    received: list[str] = []
    finishes: list[str | None] = []
    with pytest.raises((httpx.HTTPError, openai.APIError)):
        for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")
            finishes.append(chunk.choices[0].finish_reason)
    assert "".join(received) == text[: 2 * STREAM_CHUNK_CHARS]
    assert finishes == [None, None, None]  # role chunk + 2 content chunks, no "stop"


def test_requests_and_authorization_are_recorded(fake: FakeOpenAI) -> None:
    client = make_client(fake, api_key="sk-secret")
    client.chat.completions.create(model="model-a", messages=MESSAGES, temperature=0.1)
    client.chat.completions.create(
        model="model-b", messages=[{"role": "system", "content": "sys"}, *MESSAGES]
    )
    assert [r["model"] for r in fake.requests] == ["model-a", "model-b"]
    assert fake.requests[0]["messages"] == MESSAGES
    assert fake.requests[0]["temperature"] == 0.1
    assert fake.requests[1]["messages"][0] == {"role": "system", "content": "sys"}
    assert len(fake.headers_seen) == 2
    assert fake.headers_seen[0]["Authorization"] == "Bearer sk-secret"
    assert fake.headers_seen[0]["authorization"] == "Bearer sk-secret"


def test_models_lists_test_model_and_requested_models(fake: FakeOpenAI) -> None:
    client = make_client(fake)
    client.chat.completions.create(model="my-model", messages=MESSAGES)
    ids = [m.id for m in client.models.list()]
    assert ids == ["test-model", "my-model"]


def test_unknown_path_is_404_json(fake: FakeOpenAI) -> None:
    resp = httpx.post(fake.base_url + "/embeddings", json={"input": "x"})
    assert resp.status_code == 404
    assert resp.json()["error"]["type"] == "invalid_request_error"
    assert httpx.get(fake.base_url.replace("/v1", "/nope")).status_code == 404


def test_close_is_prompt_and_idempotent() -> None:
    fake = FakeOpenAI().start()
    fake.script(Reply(delay=5.0))
    with pytest.raises(openai.APITimeoutError):
        make_client(fake, timeout=0.2).chat.completions.create(model="m", messages=MESSAGES)
    started = time.monotonic()
    fake.close()
    fake.close()
    assert time.monotonic() - started < 1.0
