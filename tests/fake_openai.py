"""Scriptable OpenAI-compatible HTTP server for tests (stdlib only).

Tests point a real ``openai`` client (or LlamaIndex's OpenAI/OpenAILike) at
``FakeOpenAI.base_url`` so the full HTTP path -- serialisation, retries,
timeouts, SSE parsing -- is exercised without monkeypatching.

    with FakeOpenAI() as fake:
        fake.script(Reply(text="hi"), Reply(status=429, headers={"Retry-After": "1"}))
        client = openai.OpenAI(base_url=fake.base_url, api_key="sk-test")
        ...
        assert fake.requests[0]["messages"][0]["content"] == "..."
"""

from __future__ import annotations

import functools
import json
import socket
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

DEFAULT_MODEL = "test-model"
# Streamed text is split into fixed-size deltas so tests can predict exactly
# what a `cut_after=n` stream delivered: text[: n * STREAM_CHUNK_CHARS].
STREAM_CHUNK_CHARS = 8

# OpenAI-style (type, code) per status; anything else >= 500 is a server_error.
_ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "not_found"),
    408: ("timeout", None),
    409: ("conflict", None),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
}

# A client giving up (timeout, cancelled stream) must not fail the test run.
_DISCONNECTS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


@dataclass
class Reply:
    """One scripted answer to a chat-completions request."""

    text: str = ""  # assistant content; for non-200 replies, the error message
    status: int = 200  # non-200 returns an OpenAI-style error JSON body
    headers: dict[str, str] = field(default_factory=dict)  # e.g. {"Retry-After": "1"}
    delay: float = 0.0  # seconds to wait before sending anything (timeouts)
    raw_body: bytes | None = None  # sent verbatim as application/json (malformed bodies)
    cut_after: int | None = None  # streaming: drop the connection after n content chunks
    unfinished_after: int | None = None  # streaming: end the body cleanly after n content chunks, no finish/[DONE]
    chunk_delay: float = 0.0  # streaming: seconds between content chunks (a model writing slowly)
    prompt_tokens: int = 50
    completion_tokens: int = 20
    finish: str = "stop"  # "length": cut off at max_tokens, as a real server reports it
    reasoning: str = ""  # streaming: sent first as `reasoning_content` deltas, as DeepSeek-style servers do


class _Headers(dict[str, str]):
    """Request headers with lowercase keys and case-insensitive lookup.

    Clients differ in header-name casing; tests should not care whether they
    write ``["Authorization"]`` or ``["authorization"]``.
    """

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


class FakeOpenAI:
    """Context manager: serves the fake API on 127.0.0.1:<free port> in a daemon thread."""

    def __init__(
        self,
        replies: list[Reply] | None = None,
        default: Reply | None = None,
        responder: Callable[[dict[str, Any]], Reply] | None = None,
        models: list[str] | None = None,  # what /v1/models lists; by default, every model asked for so far
    ) -> None:
        self.default: Reply = default if default is not None else Reply(text="OK")
        self.responder = responder  # picks the reply from the request, once the scripted queue is empty
        self.requests: list[dict[str, Any]] = []
        self.headers_seen: list[dict[str, str]] = []
        self.abandoned: list[int] = []  # per stream the client closed early: content chunks written before
        self._queue: deque[Reply] = deque(replies or [])
        self._models: list[str] = list(models) if models is not None else [DEFAULT_MODEL]
        self._fixed_models = models is not None
        self._lock = threading.Lock()
        self._stop = threading.Event()  # wakes handlers sleeping on `delay` at close()
        self._conns: set[socket.socket] = set()
        self._thread: threading.Thread | None = None
        self._closed = False
        # Bind now so base_url is known before the context is entered.
        self._server = _Server(("127.0.0.1", 0), functools.partial(_Handler, fake=self))
        self.port: int = self._server.server_port
        self.base_url: str = f"http://127.0.0.1:{self.port}/v1"

    # -- scripting ---------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        """Queue replies; each chat request pops one, then `default` is used."""
        with self._lock:
            self._queue.extend(replies)

    def _take(self, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        """Record a chat request and pick its reply atomically (concurrent clients)."""
        with self._lock:
            self.requests.append(body)
            self.headers_seen.append(headers)
            model = body.get("model")
            if isinstance(model, str) and model not in self._models and not self._fixed_models:
                self._models.append(model)
            if self._queue:
                return self._queue.popleft()
        return self.responder(body) if self.responder is not None else self.default

    def _model_ids(self) -> list[str]:
        with self._lock:
            return list(self._models)

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> FakeOpenAI:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, drop live connections and join the server thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._thread is not None:
            self._server.shutdown()  # only valid once serve_forever is running
        self._server.server_close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:  # unblock handlers idling on keep-alive reads
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hung handler must never block interpreter exit

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], _DISCONNECTS):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API
    timeout = 30  # idle keep-alive connections eventually release their thread

    def __init__(self, *args: Any, fake: FakeOpenAI, **kwargs: Any) -> None:
        self.fake = fake  # must be set first: the base __init__ handles the request
        super().__init__(*args, **kwargs)

    def setup(self) -> None:
        super().setup()
        with self.fake._lock:
            self.fake._conns.add(self.connection)

    def finish(self) -> None:
        with self.fake._lock:
            self.fake._conns.discard(self.connection)
        try:
            super().finish()
        except _DISCONNECTS:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request stderr logging."""

    # -- routing -----------------------------------------------------------

    def _path(self) -> str:
        return self.path.split("?", 1)[0].rstrip("/")

    def do_GET(self) -> None:
        try:
            if self._path() == "/v1/models":
                data = [
                    {"id": m, "object": "model", "created": 0, "owned_by": "fake-openai"}
                    for m in self.fake._model_ids()
                ]
                self._send_json(200, {"object": "list", "data": data})
            else:
                self._send_error(404, f"Unknown path: {self.path}")
        except _DISCONNECTS:
            self.close_connection = True

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if self._path() != "/v1/chat/completions":
                self._send_error(404, f"Unknown path: {self.path}")
                return
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if not isinstance(body, dict):
                self._send_error(400, "Request body is not a JSON object")
                return
            headers = _Headers((k.lower(), v) for k, v in self.headers.items())
            self._chat(body, self.fake._take(body, headers))
        except _DISCONNECTS:
            self.close_connection = True

    # -- chat completions --------------------------------------------------

    def _chat(self, body: dict[str, Any], reply: Reply) -> None:
        if reply.delay > 0 and self.fake._stop.wait(reply.delay):
            self.close_connection = True  # server closing: just drop the request
            return
        if reply.raw_body is not None:
            self._send(reply.status, reply.raw_body, "application/json", reply.headers)
        elif reply.status != 200:
            self._send_error(reply.status, reply.text or None, reply.headers)
        elif body.get("stream"):
            self._stream(body, reply)
        else:
            self._send_json(200, self._completion(body, reply), reply.headers)

    @staticmethod
    def _model(body: dict[str, Any]) -> str:
        model = body.get("model")
        return model if isinstance(model, str) and model else DEFAULT_MODEL

    @staticmethod
    def _usage(reply: Reply) -> dict[str, int]:
        return {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        }

    def _completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self._model(body),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.text},
                    "logprobs": None,
                    "finish_reason": reply.finish,
                }
            ],
            "usage": self._usage(reply),
        }

    def _stream(self, body: dict[str, Any], reply: Reply) -> None:
        """Send SSE over chunked encoding, as the real API does.

        Chunked framing (rather than a close-delimited body) means `cut_after`
        looks like a genuine network drop: the client sees an incomplete body
        and raises (httpx.RemoteProtocolError) instead of a clean EOF.
        """
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self._extra_headers(reply.headers)
        self.end_headers()

        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self._model(body),
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return {**base, "choices": [choice]}

        self._event(chunk({"role": "assistant", "content": ""}))
        for i in range(0, len(reply.reasoning), STREAM_CHUNK_CHARS):
            self._event(chunk({"reasoning_content": reply.reasoning[i : i + STREAM_CHUNK_CHARS]}))
        text = reply.text
        pieces = [text[i : i + STREAM_CHUNK_CHARS] for i in range(0, len(text), STREAM_CHUNK_CHARS)]
        sending = pieces[: reply.cut_after] if reply.cut_after is not None else pieces[: reply.unfinished_after]
        for sent, piece in enumerate(sending):
            if reply.chunk_delay and self.fake._stop.wait(reply.chunk_delay):
                return
            try:
                self._event(chunk({"content": piece}))
            except _DISCONNECTS:  # the client hung up: a real server stops generating here
                with self.fake._lock:
                    self.fake.abandoned.append(sent)
                raise
        if reply.cut_after is not None:
            # Abrupt drop: FIN without finish chunk, [DONE] or the final zero-length chunk.
            self.connection.shutdown(socket.SHUT_WR)
            return
        if reply.unfinished_after is not None:  # a well-formed end of the body, mid-reply
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            return
        self._event(chunk({}, finish=reply.finish))
        options = body.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage"):
            self._event({**base, "choices": [], "usage": self._usage(reply)})
        self._write_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _event(self, payload: dict[str, Any]) -> None:
        self._write_chunk(f"data: {json.dumps(payload)}\n\n".encode())

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()  # each delta must reach the client on its own

    # -- low-level responses ----------------------------------------------

    def _extra_headers(self, headers: dict[str, str]) -> None:
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex[:16]}")
        for name, value in headers.items():
            self.send_header(name, value)

    def _send(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self._extra_headers(headers or {})
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _send_error(self, status: int, message: str | None = None, headers: dict[str, str] | None = None) -> None:
        kind, code = _ERROR_KINDS.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
        error = {"message": message or f"Fake OpenAI error (HTTP {status})", "type": kind, "param": None, "code": code}
        self._send_json(status, {"error": error}, headers)
