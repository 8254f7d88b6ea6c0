"""Shared fixtures: every test runs offline against real Chroma stores in temporary folders."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
QUESTIONS = ROOT / "tests" / "questions.jsonl"

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that needs the whole seeded store (about a minute to build) is slow: `-m "not slow"`
    then never builds it. Other slow tests carry `@pytest.mark.slow` themselves."""
    for item in items:
        if "seeded_store" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(trylast=True)  # after -m and -k have chosen
def pytest_collection_finish(session: pytest.Session) -> None:
    """Type-check in the background while the other tests run, and check its verdict last.

    mypy is one process on one core for about 110 s of a cold cache; run in line it was the suite's
    second-slowest test, while many tests (pages, servers, subprocesses) leave a core idle. So it starts as soon as the
    tests are chosen and the test that reads its verdict is moved to the end."""
    chosen = [item for item in session.items if item.name == TYPE_CHECK_TEST]
    if not chosen or session.config.option.collectonly:
        return
    session.items[:] = [item for item in session.items if item.name != TYPE_CHECK_TEST] + chosen
    cache = Path(tempfile.mkdtemp(prefix="mypy-cache-"))
    session.config.add_cleanup(lambda: shutil.rmtree(cache, ignore_errors=True))
    session.config.add_cleanup(_stop_background)  # an interrupted run leaves no mypy behind
    BACKGROUND["mypy"] = subprocess.Popen(
        [sys.executable, "-m", "mypy", "--cache-dir", str(cache)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    # Lowest priority: it takes only cycles no test wants (on a loaded CI run at nice 5, the Evaluate tab's stock
    # index took over 120 s); whatever is left runs at full speed once the tests are done.
    os.setpriority(os.PRIO_PROCESS, BACKGROUND["mypy"].pid, 19)


def _stop_background() -> None:
    for process in BACKGROUND.values():
        process.kill()
        process.communicate()
    BACKGROUND.clear()


TYPE_CHECK_TEST = "test_the_package_type_checks"
BACKGROUND: dict[str, subprocess.Popen[str]] = {}


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's .env, keys or store: each starts from defaults in a temp folder."""
    for name in list(os.environ):
        if name.startswith(("ASSISTANT_", "OPENAI_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # so a stray .env or store/ in the repo is never read
    monkeypatch.setenv("ASSISTANT_SEEDS_DIR", str(SEEDS))
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(tmp_path / "store"))


@pytest.fixture(scope="session")
def seeded_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the four seed files ingested, built once per test session (read-only by convention)."""
    from assistant.api import Assistant
    from assistant.config import Settings

    store = tmp_path_factory.mktemp("seeded") / "store"
    report = Assistant(Settings(store_dir=store, seeds_dir=SEEDS)).ingest()
    assert report.new == 74, report
    return store


@pytest.fixture()
def store_copy(seeded_store: Path, tmp_path: Path) -> Path:
    """A private copy of the seeded store, for tests that change it."""
    target = tmp_path / "store-copy"
    shutil.copytree(seeded_store, target)
    return target


@pytest.fixture(scope="session")
def assistant(seeded_store: Path) -> Iterator[object]:
    """One Assistant over the seeded store, shared by the read-only tests."""
    from assistant.api import Assistant
    from assistant.config import Settings

    yield Assistant(Settings(store_dir=seeded_store, seeds_dir=SEEDS))


def load_questions() -> list[dict[str, object]]:
    return [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]


SMALL_TOPICS = ("tangent kernel", "quantiz", "hypernetwork", "martingale", "symbolic autoencod", "sara:", "resnet")


@pytest.fixture(scope="session")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of the ~13 seed papers on a few topics (NTK, quantization, ...): real abstracts in seconds."""
    from assistant.api import Assistant
    from assistant.config import Settings
    from assistant.corpus import load_corpus

    folder = tmp_path_factory.mktemp("small")
    papers = [p for p in load_corpus([SEEDS]).papers if any(t in (p.title + p.abstract).lower() for t in SMALL_TOPICS)]
    rows = [{"title": p.title, "abstract": p.abstract, "authors": p.authors} for p in papers]
    (folder / "small.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = Assistant(Settings(store_dir=folder / "store", seeds_dir=folder)).ingest()
    assert report.new == len(rows) >= 10, report
    return folder / "store"


@pytest.fixture(scope="session")
def small_assistant(small_store: Path) -> Iterator[object]:
    """One Assistant over the small store, shared by read-only tests."""
    from assistant.api import Assistant
    from assistant.config import Settings

    yield Assistant(Settings(store_dir=small_store, seeds_dir=small_store.parent))


def free_port() -> int:
    """A loopback port nothing listens on (the OS picked it and it was released at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def closed_port_url() -> str:
    """An OpenAI-style base URL where the connection is refused."""
    return f"http://127.0.0.1:{free_port()}/v1"
