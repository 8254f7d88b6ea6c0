"""Hardening matrix, secrets: with a key set, every error path leaves it out of every output.

test_llm checks the key through the Python API for a few LLM failures; this file drives every error
path of the matrix through the real `assistant` command (stdout, stderr, exit code, JSON) with all
logging captured, plus settings reprs, .env handling and the page's /ask endpoint.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).parent))

from fake_openai import FakeOpenAI, Reply  # noqa: E402

from assistant.api import Assistant  # noqa: E402
from assistant.cli import main  # noqa: E402
from assistant.config import Settings  # noqa: E402
from conftest import free_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-proj-HARDENING-7f3a9c2e1d"
PASSWORD = "hunter2-ui-password"
NTK = "What does the neural tangent kernel describe?"



@pytest.fixture(scope="module")
def echo_server() -> Iterator[FakeOpenAI]:
    """An LLM server whose every failure quotes the key back, as some real ones do."""
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch, small_store: Path, echo_server: FakeOpenAI) -> pytest.MonkeyPatch:
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(small_store))
    monkeypatch.setenv("ASSISTANT_LLM", "openai-compatible")
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", echo_server.base_url)
    monkeypatch.setenv("ASSISTANT_LLM_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("ASSISTANT_UI_AUTH", f"reader:{PASSWORD}")
    monkeypatch.setenv("ASSISTANT_LLM_TIMEOUT", "1.5")
    monkeypatch.setenv("ASSISTANT_LLM_RETRIES", "1")
    return monkeypatch


ECHO = f"Incorrect API key provided: {KEY}. Authorization: Bearer {KEY}"
# name: (argv, extra environment, server reply, expected exit code)
PATHS: dict[str, tuple[list[str], dict[str, str], Reply | None, int]] = {
    "empty question": (["ask", "  "], {}, None, 2),
    "megabyte question": (["ask", "x" * 1_000_000], {}, None, 2),
    "bad setting": (["ask", NTK], {"ASSISTANT_LLM_TEMPERATURE": "hot"}, None, 2),
    "no base url": (["ask", NTK], {"ASSISTANT_LLM_BASE_URL": "", "OPENAI_BASE_URL": ""}, None, 2),
    "key inside the base url": (
        ["ask", NTK, "--json"], {"ASSISTANT_LLM_BASE_URL": f"http://user:{KEY}@127.0.0.1:{free_port()}/v1?key={KEY}"}, None, 2,
    ),
    "ftp base url with the key": (["ask", NTK], {"ASSISTANT_LLM_BASE_URL": f"ftp://{KEY}@example.org/v1"}, None, 2),
    "key set as the base url": (["ask", NTK], {"ASSISTANT_LLM_BASE_URL": KEY}, None, 2),  # the two swapped
    "key set as the base url, llm check": (["llm", "check"], {"ASSISTANT_LLM_BASE_URL": KEY}, None, 2),
    "key set as a scheme-less base url": (["ask", NTK], {"ASSISTANT_LLM_BASE_URL": f"{KEY}:80"}, None, 2),
    "key with a non-ASCII character": (["llm", "check"], {"ASSISTANT_LLM_API_KEY": KEY + "é"}, None, 2),
    "foreign store": (["papers"], {"ASSISTANT_STORE_DIR": "FOREIGN"}, None, 4),
    "missing file to ingest": (["ingest", "no-such-file.jsonl"], {}, None, 4),
    "server refuses, fallback": (["ask", NTK, "--json"], {"ASSISTANT_LLM_BASE_URL": f"http://127.0.0.1:{free_port()}/v1"}, None, 0),
    "server refuses, no fallback": (
        ["ask", NTK], {"ASSISTANT_LLM_BASE_URL": f"http://127.0.0.1:{free_port()}/v1", "ASSISTANT_LLM_FALLBACK": "none"}, None, 3,
    ),
    "401 echoing the key": (["ask", NTK, "--json"], {}, Reply(status=401, text=ECHO), 0),
    "401 echoing the key, no fallback": (["ask", NTK], {"ASSISTANT_LLM_FALLBACK": "none"}, Reply(status=401, text=ECHO), 3),
    "429 echoing the key": (["ask", NTK], {}, Reply(status=429, text=ECHO, headers={"Retry-After": "0"}), 0),
    "500 echoing the key, streamed": (["ask", NTK, "--stream"], {}, Reply(status=500, text=ECHO), 0),
    "slow server": (["ask", NTK, "--json"], {}, Reply(text="late [1].", delay=10), 0),
    "malformed body with the key": (["ask", NTK], {"ASSISTANT_LLM_FALLBACK": "none"}, Reply(raw_body=f'{{"error": "{KEY}'.encode()), 3),
    "stream cut, model echoed the key": (["ask", NTK, "--stream", "--json"], {}, Reply(text=f"Using key {KEY} [1]. More text here.", cut_after=3), 0),
}


@pytest.mark.parametrize("name", list(PATHS))
def test_no_error_path_shows_the_key(
    name: str, keyed: pytest.MonkeyPatch, echo_server: FakeOpenAI, tmp_path: Path,
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
) -> None:
    argv, env, reply, expected = PATHS[name]
    for variable, value in env.items():
        if value == "FOREIGN":
            value = str(tmp_path / "Documents")
            Path(value).mkdir()
            (Path(value) / "cv.pdf").write_bytes(b"%PDF")
        keyed.setenv(variable, value)
    echo_server.default = reply or Reply(text="The NTK describes training [1].")
    caplog.set_level(logging.DEBUG)
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == expected, err
    if expected:
        assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    if "--json" in argv and code == 0:
        json.loads(out)
    everything = "\n".join([out, err, caplog.text])
    assert KEY not in everything and KEY[8:20] not in everything and PASSWORD not in everything


def test_settings_never_show_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"ASSISTANT_LLM_API_KEY={KEY}\nASSISTANT_UI_AUTH=reader:{PASSWORD}\n")
    settings = Settings()  # the autouse fixture runs every test in tmp_path, so this reads that .env
    assert isinstance(settings.llm_api_key, SecretStr) and settings.llm_api_key.get_secret_value() == KEY
    shown = [
        repr(settings), str(settings), str(settings.model_dump()), settings.model_dump_json(),
        json.dumps(settings.model_dump(mode="json")), settings.settings_hash(), repr(settings.llm_api_key),
    ]
    assert not [s for s in shown if KEY in s or PASSWORD in s]
    assert settings.settings_hash() == Settings(llm_api_key="another").settings_hash()  # the key shapes nothing


def test_dot_env_is_git_ignored_and_the_example_holds_no_key() -> None:
    for path in (".env", "sub/.env"):
        check = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, capture_output=True)
        assert check.returncode == 0, f"{path} is not git-ignored"
    tracked = subprocess.run(["git", "ls-files", "--", ".env", "**/.env"], cwd=ROOT, capture_output=True, text=True)
    assert tracked.stdout.strip() == ""
    example = (ROOT / ".env.example").read_text()
    for line in example.splitlines():
        if line.strip().startswith(("ASSISTANT_LLM_API_KEY", "OPENAI_API_KEY", "ASSISTANT_UI_AUTH")):
            assert line.strip().endswith("="), line  # names the variable, never a value


@pytest.mark.slow
def test_the_page_shows_no_key(keyed: pytest.MonkeyPatch, echo_server: FakeOpenAI) -> None:
    import gradio_client

    from assistant import ui
    from assistant.ui.app import describe_answer_modes

    echo_server.default = Reply(status=401, text=ECHO)
    app = ui.build_app(Assistant())
    try:
        url = ui.launch(app, host="127.0.0.1", port=None, block=False)
        result = gradio_client.Client(url, verbose=False).predict(NTK, api_name="/ask")
        page = urllib.request.urlopen(url, timeout=60).read().decode()
        config = urllib.request.urlopen(url.rstrip("/") + "/config", timeout=60).read().decode()
    finally:
        app.close()
    assert "was unavailable" in result["notice"] and "ASSISTANT_LLM_API_KEY" in result["notice"]
    # A base URL carrying the key (user:key@, ?key=) is refused when answering, and never shown either.
    keyed.setenv("ASSISTANT_LLM_BASE_URL", f"http://user:{KEY}@127.0.0.1:9/v1?key={KEY}")
    modes = describe_answer_modes(Assistant())
    assert "http://127.0.0.1:9/v1" in modes
    for shown in (json.dumps(result), page, config, modes):
        assert KEY not in shown and KEY[8:20] not in shown and PASSWORD not in shown


def test_a_key_written_as_the_host_of_the_base_url_is_not_shown(
    keyed: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`http://sk-…` is a URL whose host is the key: it was printed (lower-cased) by llm check."""
    keyed.setenv("ASSISTANT_LLM_BASE_URL", f"http://{KEY}:9/v1")
    keyed.setenv("ASSISTANT_LLM_RETRIES", "0")
    keyed.setenv("ASSISTANT_LLM_TIMEOUT", "2")
    code = main(["llm", "check"])
    out, err = capsys.readouterr()
    assert code == 3 and "a host name that looks like a key (not shown)" in out
    assert KEY.lower()[3:] not in (out + err).lower()
