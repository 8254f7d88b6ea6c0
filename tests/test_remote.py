"""`assistant ask` through a server that stops or stalls mid-answer: a scripted server on 127.0.0.1 speaks the
CLI routes (real HTTP), published in the store as `assistant serve` publishes itself."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.config import Settings
from assistant.remote import ROUTE, SERVE_FILE

NTK = "What does the neural tangent kernel describe?"
STATUS = json.dumps({"kind": "status", "stage": "retrieving"}).encode() + b"\n"


def _server(behave: Callable[[BaseHTTPRequestHandler], None]) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            behave(self)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture()
def publish(store_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Callable[[BaseHTTPRequestHandler], None], float], None]]:
    """Publishes a scripted server for the store, as `assistant serve` does (this process's pid: alive)."""
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(store_copy))
    servers: list[ThreadingHTTPServer] = []

    def start(behave: Callable[[BaseHTTPRequestHandler], None], wait_s: float) -> None:
        server, url = _server(behave)
        servers.append(server)
        (store_copy / SERVE_FILE).write_text(json.dumps({
            "pid": os.getpid(), "url": url, "token": "t", "settings_hash": Settings().settings_hash(),
            "features": ["filters"], "wait_s": wait_s,
        }))

    yield start
    for server in servers:
        server.shutdown()


def _stream_then_stop(handler: BaseHTTPRequestHandler) -> None:
    """A status line, then the process is gone: the connection closes before the final answer."""
    assert handler.path == f"{ROUTE}/stream"
    handler.send_response(200)
    handler.send_header("Content-Type", "application/x-ndjson")
    handler.end_headers()
    handler.wfile.write(STATUS)
    handler.wfile.flush()
    handler.close_connection = True


def test_a_server_stopping_mid_answer_is_said_and_the_answer_comes_from_here(
    publish: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    """It was a traceback: "AssertionError: a stream ends with its Final answer"."""
    publish(_stream_then_stop, 30.0)
    code = main(["ask", NTK])
    out, err = capsys.readouterr()
    assert code == 0 and "Traceback" not in err
    assert "note: the server stopped while answering (it closed the answer before its end); answering in this process" in err
    assert "References:" in out and "[1]" in out


def test_a_server_quiet_for_longer_than_its_answers_may_take_is_an_error_not_a_second_model_call(
    publish: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    """The client gave up at a fixed 120 s, under a local model's 180 s, and asked the model again itself."""
    asked: list[str] = []

    def stall(handler: BaseHTTPRequestHandler) -> None:
        asked.append(handler.path)
        time.sleep(3)

    publish(stall, 1.0)
    for argv in (["ask", NTK], ["ask", NTK, "--json"]):
        started = time.monotonic()
        code = main(argv)
        _, err = capsys.readouterr()
        assert code == 3 and time.monotonic() - started < 3
        assert err == ("error: the server gave no answer within 1 s (its model may be stuck); ask again, or add "
                       "--local to answer in this process\n")
    assert asked == [f"{ROUTE}/stream", f"{ROUTE}/ask"]


def test_serve_publishes_how_long_its_answers_may_take(tmp_path: Path) -> None:
    from assistant.remote import WAIT_MARGIN_S, published

    with published(tmp_path, "http://127.0.0.1:1", "h", "t", 180.0):
        assert json.loads((tmp_path / SERVE_FILE).read_text())["wait_s"] == 180.0 + WAIT_MARGIN_S


def test_a_server_cut_off_mid_body_is_answered_here(publish: Callable[..., None], capsys: pytest.CaptureFixture[str]) -> None:
    """A reply shorter than it said it would be (the server killed while writing it) reads as a broken
    connection, so the question is answered in this process, not a traceback."""
    def cut(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "5000")
        handler.end_headers()
        handler.wfile.write(b'{"question": "What')
        handler.wfile.flush()
        handler.close_connection = True

    publish(cut, 30.0)
    code = main(["ask", NTK, "--json"])
    out, err = capsys.readouterr()
    assert code == 0 and "Traceback" not in err and json.loads(out)["citations"]
    assert err == "note: the server stopped mid-reply (IncompleteRead); answering in this process\n"
