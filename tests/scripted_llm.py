"""A scripted chat model injected in-process (`Assistant(llm=ScriptedLLM(...))`), for tests where the
LLM is not the subject: no server, no HTTP. tests/fake_openai.py is the real-HTTP counterpart."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from llama_index.core.bridge.pydantic import Field
from llama_index.core.llms import CompletionResponse, CustomLLM, LLMMetadata


class ScriptedLLM(CustomLLM):
    """Replies with the scripted texts in turn (an exception in the script is raised instead); keeps every prompt."""

    script: list[Any] = Field(default_factory=list)
    prompts: list[str] = Field(default_factory=list)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="scripted", is_chat_model=False)

    def _next(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.script:
            raise AssertionError("the scripted LLM was asked more often than scripted")
        reply = self.script.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        return str(reply)

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text=self._next(prompt))

    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Iterator[CompletionResponse]:
        text = self._next(prompt)
        words = text.split(" ")

        def deltas() -> Iterator[CompletionResponse]:
            so_far = ""
            for i, word in enumerate(words):
                delta = word if i == 0 else " " + word
                so_far += delta
                yield CompletionResponse(text=so_far, delta=delta)

        return deltas()
