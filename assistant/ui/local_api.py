"""The routes `assistant ask` / `retrieve` use when a server is running (assistant/remote.py).

Plain JSON over HTTP beside the page (Gradio's own API needs a client library whose import alone
costs more than the answer). Every request carries the token the server wrote, readable only by its
owner, into the store folder: the page's password does not cover these routes, the token does.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from fastapi import Header
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ..errors import AssistantError
from ..filters import Filters
from ..remote import ROUTE

if TYPE_CHECKING:
    import gradio as gr

    from ..api import Assistant


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a field this server does not know is refused, never ignored

    question: str
    k: int | None = Field(None, ge=1)  # retrieve honours any depth, as in-process: the CLI's -k 74 was refused
    mode: str | None = None
    year: str | None = None  # the CLI's --year, --author, --category and --venue, as they were typed
    authors: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    venues: list[str] = Field(default_factory=list)

    def filters(self) -> Filters | None:
        return Filters.parse(self.year, self.authors, self.categories, self.venues) or None


def _refused(exc: AssistantError) -> JSONResponse:
    return JSONResponse({"error": str(exc), "exit_code": exc.exit_code}, status_code=400)


def add_cli_routes(app: gr.Blocks, assistant: Assistant, token: str) -> None:
    """Mount /assistant/v1/{ask,stream,retrieve} on a launched page's FastAPI app."""
    expected = f"Bearer {token}".encode()

    def authorised(header: str) -> bool:
        return hmac.compare_digest(header.encode(), expected)

    def forbidden() -> JSONResponse:
        return JSONResponse({"error": "this route is for the `assistant` command on the same machine"}, status_code=403)

    def ask(body: Question, authorization: str = Header("")) -> Any:
        if not authorised(authorization):
            return forbidden()
        try:
            return assistant.ask(body.question, filters=body.filters()).model_dump(mode="json")
        except AssistantError as exc:
            return _refused(exc)

    def retrieve(body: Question, authorization: str = Header("")) -> Any:
        if not authorised(authorization):
            return forbidden()
        try:
            passages = assistant.retrieve(body.question, k=body.k, mode=body.mode, filters=body.filters())  # type: ignore[arg-type]
        except AssistantError as exc:
            return _refused(exc)
        return [p.model_dump(mode="json") for p in passages]

    def stream(body: Question, authorization: str = Header("")) -> Any:
        if not authorised(authorization):
            return forbidden()
        try:
            events = assistant.stream(body.question, filters=body.filters())
            first = next(events)  # a refused question is refused before anything streams
        except AssistantError as exc:
            return _refused(exc)

        def lines() -> Iterator[str]:
            yield json.dumps(first.model_dump(mode="json")) + "\n"
            try:
                for event in events:
                    yield json.dumps(event.model_dump(mode="json")) + "\n"
            except AssistantError as exc:
                yield json.dumps({"kind": "error", "error": str(exc), "exit_code": exc.exit_code}) + "\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    for name, endpoint in (("ask", ask), ("retrieve", retrieve), ("stream", stream)):
        app.app.add_api_route(f"{ROUTE}/{name}", endpoint, methods=["POST"], include_in_schema=False)
