"""`assistant ask` and `retrieve` through a running `assistant serve` on the same store: no cold start.

A serving process publishes itself in the store folder (`serve.json`: its pid, a loopback URL, a random
token, and the settings hash its answers are made with; readable by the file's owner only). The CLI
uses it when it was started with the same settings, and otherwise, or when nothing answers, answers in
its own process as before. Only the standard library is imported here: a cold `assistant ask`
spent most of its 2.3 s importing LlamaIndex, Chroma and bm25s, which a running server has loaded.
"""

from __future__ import annotations

import json
import os
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SERVE_FILE = "serve.json"
ROUTE = "/assistant/v1"
FEATURES = ("filters",)  # what this version's routes take beyond a question; a server without one is not sent it
TIMEOUT_S = 120.0  # a question with a slow LLM server behind it; connecting fails at once when none runs


class ServerError(Exception):
    """The server answered with an error the caller must see (e.g. a refused question), as text and code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def new_token() -> str:
    return secrets.token_urlsafe(24)


def loopback_url(host: str, port: int) -> str:
    wildcard = host in ("0.0.0.0", "::", "", "localhost")
    return f"http://{'127.0.0.1' if wildcard else host}:{port}"


@contextmanager
def published(store_dir: Path, url: str, settings_hash: str, token: str) -> Iterator[None]:
    """Announce a serving process in `store_dir` for as long as the block runs."""
    path = store_dir / SERVE_FILE
    store_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the token: the owner's only
    with os.fdopen(fd, "w") as handle:
        json.dump({"pid": os.getpid(), "url": url, "token": token, "settings_hash": settings_hash, "features": list(FEATURES)}, handle)
    os.replace(tmp, path)
    try:
        yield
    finally:
        try:
            if json.loads(path.read_text()).get("token") == token:  # not a newer server's file
                path.unlink()
        except (OSError, ValueError):
            pass


def find_server(store_dir: Path, settings_hash: str) -> dict[str, Any] | None:
    """The published server for this store and these settings, if its process is alive."""
    try:
        found = json.loads((store_dir / SERVE_FILE).read_text())
        pid = int(found["pid"])
        os.kill(pid, 0)  # raises if no such process
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return found if found.get("settings_hash") == settings_hash and found.get("url") and found.get("token") else None


def supports(server: dict[str, Any], feature: str) -> bool:
    """Whether the published server takes `feature` (one started before filters existed ignores them)."""
    return feature in (server.get("features") or ())


def _request(server: dict[str, Any], action: str, payload: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        f"{server['url']}{ROUTE}/{action}",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {server['token']}"},
    )
    try:
        return urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code in (400, 422, 503):  # the server's own verdict on this request
            detail = json.loads(exc.read() or b"{}")
            raise ServerError(str(detail.get("error", exc.reason)), int(detail.get("exit_code", 1))) from None
        raise ConnectionError(f"HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ConnectionError(str(exc)) from None


def call(server: dict[str, Any], action: str, payload: dict[str, Any]) -> Any:
    """POST `payload` to the server's `action` and return the decoded JSON; ConnectionError when it
    cannot be reached (the caller then answers in process), ServerError when it refused the request."""
    with _request(server, action, payload) as response:
        return json.loads(response.read())


def stream(server: dict[str, Any], payload: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The events of a streamed answer, one JSON object per line."""
    with _request(server, "stream", payload) as response:
        for line in response:
            if line.strip():
                yield json.loads(line)
