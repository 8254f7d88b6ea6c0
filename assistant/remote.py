"""`assistant ask` and `retrieve` through a running `assistant serve` on the same store: no cold start.

A serving process publishes itself in the store folder (`serve.json`: its pid, a loopback URL, a random
token, and the settings hash its answers are made with, its LLM key's fingerprint in it: Settings.serving_hash;
readable by the file's owner only). The CLI uses it when it was started with the same settings and key, and otherwise, or when nothing answers, answers in
its own process as before. Only the standard library is imported here: a cold `assistant ask`
spent most of its 2.3 s importing LlamaIndex, Chroma and bm25s, which a running server has loaded.
"""

from __future__ import annotations

import http.client
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
FEATURES = ("filters", "venues")  # what this version's routes take beyond a question; a server without one is not sent it
TIMEOUT_S = 120.0  # a server that does not say how long its answers may take (an older version)
WAIT_MARGIN_S = 60.0  # on top of the server's LLM budget: retrieval, a retry's backoff, a loaded machine


class ServerError(Exception):
    """The server answered with an error the caller must see (e.g. a refused question), as text and code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class ServerStopped(ConnectionError):
    """The server took the request, then went away before its answer was whole (killed, restarted)."""


def new_token() -> str:
    return secrets.token_urlsafe(24)


def loopback_url(host: str, port: int) -> str:
    wildcard = host in ("0.0.0.0", "::", "", "localhost")
    return f"http://{'127.0.0.1' if wildcard else host}:{port}"


@contextmanager
def published(store_dir: Path, url: str, settings_hash: str, token: str, llm_timeout: float = 0.0) -> Iterator[None]:
    """Announce a serving process in `store_dir` for as long as the block runs, with how long a client may
    wait for one of its answers (its LLM budget and a margin: a client giving up sooner re-asked the model)."""
    path = store_dir / SERVE_FILE
    store_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the token: the owner's only
    with os.fdopen(fd, "w") as handle:
        json.dump({"pid": os.getpid(), "url": url, "token": token, "settings_hash": settings_hash, "features": list(FEATURES),
                   "wait_s": llm_timeout + WAIT_MARGIN_S}, handle)
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


def _wait(server: dict[str, Any]) -> float:
    """How long to wait for the server's answer: what it published, else TIMEOUT_S."""
    try:
        return float(server.get("wait_s") or TIMEOUT_S)
    except (TypeError, ValueError):
        return TIMEOUT_S


def _timed_out(server: dict[str, Any]) -> ServerError:
    """Said instead of asking the model again here: the server may still be generating the answer."""
    return ServerError(f"the server gave no answer within {_wait(server):g} s (its model may be stuck); "
                       "ask again, or add --local to answer in this process", 3)


def _request(server: dict[str, Any], action: str, payload: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        f"{server['url']}{ROUTE}/{action}",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {server['token']}"},
    )
    try:
        return urllib.request.urlopen(request, timeout=_wait(server))
    except urllib.error.HTTPError as exc:
        if exc.code in (400, 422, 503):  # the server's own verdict on this request
            detail = json.loads(exc.read() or b"{}")
            raise ServerError(str(detail.get("error", exc.reason)), int(detail.get("exit_code", 1))) from None
        raise ConnectionError(f"HTTP {exc.code}") from None
    except TimeoutError:
        raise _timed_out(server) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise _timed_out(server) from None
        raise ConnectionError(str(exc)) from None
    except (http.client.RemoteDisconnected, ConnectionResetError) as exc:  # it had the request, then went away
        raise ServerStopped(f"the server stopped mid-reply ({type(exc).__name__})") from None
    except OSError as exc:
        raise ConnectionError(str(exc)) from None


# What a server stopping mid-reply raises while the reply is read: a reset or cut connection, a short body.
_BROKEN = (OSError, http.client.HTTPException, ValueError)


def call(server: dict[str, Any], action: str, payload: dict[str, Any]) -> Any:
    """POST `payload` to the server's `action` and return the decoded JSON; ConnectionError when it
    cannot be reached or stops mid-reply (the caller then answers in process), ServerError when it refused
    the request or gave no answer in time."""
    with _request(server, action, payload) as response:
        try:
            return json.loads(response.read())
        except TimeoutError:
            raise _timed_out(server) from None
        except _BROKEN as exc:
            raise ServerStopped(f"the server stopped mid-reply ({type(exc).__name__})") from None


def stream(server: dict[str, Any], payload: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The events of a streamed answer, one JSON object per line; ConnectionError when the server stops
    before the last one, ServerError when it goes quiet for longer than its answers may take."""
    with _request(server, "stream", payload) as response:
        try:
            for line in response:
                if line.strip():
                    yield json.loads(line)
        except TimeoutError:
            raise _timed_out(server) from None
        except _BROKEN as exc:
            raise ServerStopped(f"the server stopped mid-reply ({type(exc).__name__})") from None
