"""`assistant ask`/`retrieve` through a running `assistant serve` (real processes, real HTTP), the
terminal chat, and a serving process without torch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import free_port

from assistant.remote import SERVE_FILE

NTK = "What does the neural tangent kernel describe?"


def _cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # -X importtime: stderr then shows whether the heavy libraries were loaded by this process.
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "assistant.cli", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def _loaded(stderr: str, module: str) -> bool:
    return any(line.rstrip().endswith(f"| {module}") for line in stderr.splitlines())


@pytest.fixture()
def served(small_store: Path, tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    store = tmp_path / "store"
    shutil.copytree(small_store, store)
    env = {**os.environ, "ASSISTANT_STORE_DIR": str(store)}
    server = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--port", str(free_port())],
                              env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while not (store / SERVE_FILE).exists():
        assert server.poll() is None and time.monotonic() < deadline, server.stderr.read() if server.stderr else ""
        time.sleep(0.2)
    try:
        yield env, store
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert not (store / SERVE_FILE).exists()  # withdrawn when the server stops


@pytest.mark.slow
def test_ask_and_retrieve_go_through_a_running_server_and_match_in_process_answers(
    served: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, store = served
    published = json.loads((store / SERVE_FILE).read_text())
    assert oct((store / SERVE_FILE).stat().st_mode & 0o777) == "0o600"
    through = _cli(env, tmp_path, "ask", NTK, "--json")
    assert through.returncode == 0 and not _loaded(through.stderr, "chromadb") and not _loaded(through.stderr, "llama_index.core")
    local = _cli(env, tmp_path, "ask", NTK, "--json", "--local")
    assert local.returncode == 0 and _loaded(local.stderr, "chromadb")
    assert json.loads(through.stdout) == json.loads(local.stdout)

    plain = _cli(env, tmp_path, "ask", NTK)
    assert not _loaded(plain.stderr, "chromadb") and "[1]" in plain.stdout and "References:\n[1] " in plain.stdout
    hits = _cli(env, tmp_path, "retrieve", NTK, "-k", "2", "--json")
    assert not _loaded(hits.stderr, "chromadb") and len(json.loads(hits.stdout)) == 2
    assert json.loads(hits.stdout) == json.loads(_cli(env, tmp_path, "retrieve", NTK, "-k", "2", "--json", "--local").stdout)
    deep = _cli(env, tmp_path, "retrieve", NTK, "-k", "60", "--json")  # past top-k's 50: any depth, as in-process
    assert deep.returncode == 0 and not _loaded(deep.stderr, "chromadb"), deep.stderr
    assert json.loads(deep.stdout) == json.loads(_cli(env, tmp_path, "retrieve", NTK, "-k", "60", "--json", "--local").stdout)

    refused = _cli(env, tmp_path, "ask", "   ")
    assert refused.returncode == 2 and "question is empty" in refused.stderr and not _loaded(refused.stderr, "chromadb")

    # Other settings than the server's: answered here. Without the token: refused by the server.
    other = _cli({**env, "ASSISTANT_TOP_K": "3"}, tmp_path, "ask", NTK, "--json")
    assert other.returncode == 0 and _loaded(other.stderr, "chromadb")
    request = urllib.request.Request(published["url"] + "/assistant/v1/ask", data=json.dumps({"question": NTK}).encode(),
                                     headers={"Content-Type": "application/json", "Authorization": "Bearer guess"})
    with pytest.raises(urllib.error.HTTPError) as refused_http:
        urllib.request.urlopen(request, timeout=30)
    assert refused_http.value.code == 403


@pytest.mark.slow
def test_filtered_questions_go_through_the_server_unless_it_predates_filters(
    served: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, store = served
    asked = ("ask", NTK, "--json", "--year", "2019..2021")  # the small store's papers have no year
    listed = ("retrieve", NTK, "--json", "--author", "Nobody Here")
    for args in (asked, listed):
        through = _cli(env, tmp_path, *args)
        assert through.returncode == 0 and not _loaded(through.stderr, "chromadb"), through.stderr[-2000:]
        assert json.loads(through.stdout) == json.loads(_cli(env, tmp_path, *args, "--local").stdout)
    assert "No paper in the store matches" in json.loads(_cli(env, tmp_path, *asked).stdout)["answer"]
    assert json.loads(_cli(env, tmp_path, *listed).stdout) == []  # the server applied the filter
    assert json.loads(_cli(env, tmp_path, "retrieve", NTK, "--json").stdout)  # and unfiltered finds papers
    bad = _cli(env, tmp_path, "ask", NTK, "--year", "soon")
    assert bad.returncode == 2 and "--year" in bad.stderr

    venue = ("ask", NTK, "--json", "--venue", "NeurIPS")  # the small store's papers name no venue
    through = _cli(env, tmp_path, *venue)
    assert through.returncode == 0 and not _loaded(through.stderr, "chromadb"), through.stderr[-2000:]
    assert "No paper in the store matches" in json.loads(through.stdout)["answer"]

    published = json.loads((store / SERVE_FILE).read_text())
    assert published["features"] == ["filters", "venues"]
    request = urllib.request.Request(  # a field the server does not know is refused, not ignored
        published["url"] + "/assistant/v1/ask", data=json.dumps({"question": NTK, "filter": {"year": 2020}}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {published['token']}"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 422
    # A server started before venues existed would refuse the field: a --venue question is answered here.
    (store / SERVE_FILE).write_text(json.dumps(published | {"features": ["filters"]}))
    assert _loaded(_cli(env, tmp_path, *venue).stderr, "chromadb")
    assert not _loaded(_cli(env, tmp_path, *asked).stderr, "chromadb")  # a year it takes
    # A server started before filters existed publishes no features: a filtered question is answered here.
    older = {k: v for k, v in published.items() if k != "features"}
    (store / SERVE_FILE).write_text(json.dumps(older))
    here = _cli(env, tmp_path, *asked)
    assert here.returncode == 0 and _loaded(here.stderr, "chromadb")
    assert not _loaded(_cli(env, tmp_path, "ask", NTK, "--json").stderr, "chromadb")  # unfiltered: still there
    (store / SERVE_FILE).write_text(json.dumps(published))  # for the fixture's check that the server withdraws it


def test_a_server_started_with_another_llm_key_is_not_asked(tmp_path: Path) -> None:
    """A server started with a wrong key (since fixed) answered every `assistant ask` with "HTTP 401, check
    ASSISTANT_LLM_API_KEY"; a client with a revoked key got answers through the server's."""
    from assistant.config import Settings
    from assistant.remote import find_server

    def llm(key: str | None) -> Settings:
        return Settings(llm="openai-compatible", llm_base_url="http://127.0.0.1:9/v1", llm_api_key=key)

    served = llm("sk-WRONG-1")
    (tmp_path / SERVE_FILE).write_text(json.dumps({"pid": os.getpid(), "url": "http://127.0.0.1:9", "token": "t",
                                                   "settings_hash": served.serving_hash()}))
    assert find_server(tmp_path, llm("sk-WRONG-1 ").serving_hash()) is not None  # the same key, as build_llm strips it
    assert find_server(tmp_path, llm("sk-right").serving_hash()) is None
    assert find_server(tmp_path, llm(None).serving_hash()) is None
    assert "WRONG" not in (tmp_path / SERVE_FILE).read_text()
    assert Settings().serving_hash() == Settings().settings_hash()  # offline: no key to tell apart


@pytest.mark.slow
def test_a_stale_server_file_falls_back_to_answering_here(small_store: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(small_store, store)
    from assistant.config import Settings

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout
    (store / SERVE_FILE).write_text(json.dumps({"pid": int(dead), "url": f"http://127.0.0.1:{free_port()}",
                                                "token": "t", "settings_hash": Settings().settings_hash()}))
    env = {**os.environ, "ASSISTANT_STORE_DIR": str(store)}
    done = _cli(env, tmp_path, "ask", NTK, "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["citations"]
    # A live process that is not a server (this one) at a closed port: the connection fails, answered here.
    (store / SERVE_FILE).write_text(json.dumps({"pid": os.getpid(), "url": f"http://127.0.0.1:{free_port()}",
                                                "token": "t", "settings_hash": Settings().settings_hash()}))
    done = _cli(env, tmp_path, "ask", NTK, "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["citations"]


@pytest.mark.slow
def test_chat_keeps_the_conversation_and_shows_sources(small_store: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(small_store, store)
    env = {**os.environ, "ASSISTANT_STORE_DIR": str(store)}
    lines = "What are martingale posterior neural processes?\nWhat problem do they address?\n/sources\n\n/clear\n"
    done = subprocess.run([sys.executable, "-m", "assistant.cli", "chat"], input=lines, env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    answers = done.stdout.split("References:")
    assert len(answers) == 3 and all("Martingale Posterior Neural Processes" in part for part in answers[1:])
    assert "“" in answers[2] and "(new conversation)" in done.stdout  # /sources quoted the cited sentences


@pytest.mark.slow
def test_the_serving_process_never_imports_torch(small_store: Path) -> None:
    code = (
        "import sys\n"
        "from assistant.api import Assistant\n"
        "from assistant.config import Settings\n"
        "from assistant import ui\n"
        f"a = Assistant(Settings(store_dir={str(small_store)!r}))\n"
        "ui.build_app(a)\n"
        f"first = a.ask({NTK!r}); a.retrieve('kernels', mode='dense')\n"
        f"a.ask('How does it change during training?', history=[({NTK!r}, first.text)])\n"  # a follow-up
        "a.ask('What does the neural tangent kernel describe? How does it change during training?')\n"
        "assert a.ask('How many papers are about kernels?').citations\n"  # a count, answered from the metadata
        "a.ask('How many layers does the network of the kernel paper have? Which datasets does it use?')\n"
        # the page's answer and source cards, and the terminal's /sources: each [n] to the sentence it quotes
        "from assistant.ui.handlers import Handlers\n"
        f"*_, (_, chat, _, cards, _) = Handlers(a).respond({NTK!r}, [], [], 'extractive', 'hybrid', 5)\n"
        "assert 'aa-quote' in chat[-1]['content'] + cards, cards\n"
        "import io\n"
        "from assistant import terminal\n"
        f"lines = iter([{NTK!r}, '/sources'])\n"
        "def read(_):\n"
        "    try: return next(lines)\n"
        "    except StopIteration: raise EOFError\n"
        "out = io.StringIO(); terminal.run(a, read, out)\n"
        "assert '\u201c' in out.getvalue(), out.getvalue()\n"
        # nor NLTK (2-3 s and 143 MB to import), which splits abstracts into sentences at ingest, never a question
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers', 'nltk') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.slow
def test_the_server_logs_one_line_per_answer_and_never_the_question(small_store: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(small_store, store)
    env = {**os.environ, "ASSISTANT_STORE_DIR": str(store)}
    server = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--port", str(free_port())],
                              env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not (store / SERVE_FILE).exists():
            assert server.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        assert _cli(env, tmp_path, "ask", NTK).returncode == 0
        assert _cli(env, tmp_path, "ask", "How do I bake sourdough bread?").returncode == 0
        assert _cli(env, tmp_path, "retrieve", NTK).returncode == 0  # not an answer: no line
    finally:
        server.terminate()
        _, err = server.communicate(timeout=60)
    answers = [line for line in err.splitlines() if " answer · " in line]
    assert len(answers) == 2 and "cited · support" in answers[0] and answers[1].endswith("abstained")
    assert "sourdough" not in err and "tangent" not in err.lower()  # the questions themselves are not logged
    assert len(err.strip().splitlines()) == 3  # "serving on …" and the two answers: no library chatter
