"""What a user installs: a wheel carries the prompts, the bundled questions and the seeds, and answers
outside a clone; optional extras fail with a message naming them; a machine without chromium skips the
browser tests with one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS

from assistant.errors import ConfigError

NTK = "What does the neural tangent kernel describe?"
# What the build reads: the package, the folders pyproject.toml maps into it, and the project's metadata.
SOURCES = ("pyproject.toml", "README.md", "assistant", "prompts", "seeds")

CHECK_INSTALLED = """
import json
import assistant.prompts as prompts
from assistant.config import Settings
from assistant.data import QUESTIONS

print(json.dumps({
    "package": prompts.__file__,
    "prompt_dir": str(prompts.bundled()),
    "prompts": {name: prompts.load(name) for name in prompts.SLOTS},
    "questions": [json.loads(line)["id"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()],
    "seeds_dir": str(Settings().seeds_dir),
}))
"""


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args[:3]} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _clean_env(**extra: str) -> dict[str, str]:
    """This environment without anything that would point the installed copy back at the repository."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith(("ASSISTANT_", "OPENAI_"))}
    return {**env, "HF_HUB_OFFLINE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", **extra}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a copy of the working tree (so builds never write into the repository)."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, src / name)
    dist = tmp_path_factory.mktemp("dist")
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(dist), str(src)]
    _run(pip_wheel, src, _clean_env())
    (built,) = dist.glob("abstract_assistant-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_holds_every_module_prompt_seed_and_the_questions(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "assistant").rglob("*.py") if "__pycache__" not in p.parts}
    assert modules <= names, f"not in the wheel (list the subpackage in pyproject.toml): {sorted(modules - names)}"
    assert {f"assistant/prompt_templates/{p.name}" for p in (ROOT / "prompts").glob("*.txt")} <= names
    assert {f"assistant/seed_files/{p.name}" for p in SEEDS.glob("*.txt")} <= names
    assert "assistant/data/questions.jsonl" in names
    assert "assistant/py.typed" in names  # PEP 561: a user's type checker reads our annotations


@pytest.mark.slow
def test_an_installed_wheel_loads_its_prompts_and_questions_and_answers_outside_a_clone(
    wheel: Path, tmp_path: Path
) -> None:
    # The current environment's packages stand in for the dependencies: no network, no resolver.
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], tmp_path, _clean_env())
    python, work = venv / "bin" / "python", tmp_path / "elsewhere"
    work.mkdir()
    env = _clean_env(ASSISTANT_STORE_DIR=str(tmp_path / "store"), ASSISTANT_QUIET="true")
    # --ignore-installed: the editable install of the repository is visible through the system site-packages.
    _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", str(wheel)], work, env)

    shipped = json.loads(_run([str(python), "-c", CHECK_INSTALLED], work, env))
    for key in ("package", "prompt_dir", "seeds_dir"):
        assert Path(shipped[key]).resolve().is_relative_to(venv.resolve()), (key, shipped[key])  # the wheel's copy
    assert shipped["prompts"] == {p.stem: p.read_text(encoding="utf-8") for p in (ROOT / "prompts").glob("*.txt")}
    bundled = [json.loads(line)["id"] for line in (ROOT / "tests" / "questions.jsonl").read_text().splitlines() if line.strip()]
    assert shipped["questions"] == bundled and len(bundled) > 50

    # No seeds/ here and no ASSISTANT_SEEDS_DIR: the first ask ingests the seed files shipped in the wheel.
    answer = json.loads(_run([str(venv / "bin" / "assistant"), "ask", NTK, "--json"], work, env, timeout=1200))
    assert not answer["abstained"] and answer["citations"], answer
    assert "[1]" in answer["answer"] and any("tangent kernel" in c["title"].lower() for c in answer["citations"]), answer


def test_other_local_models_without_the_hf_extra_say_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from assistant import embedding, providers

    # A module set to None in sys.modules is what an import of a package that is not installed meets.
    for name in ("torch", "transformers", "transformers.utils", "llama_index.embeddings.huggingface"):
        monkeypatch.setitem(sys.modules, name, None)
    (tmp_path / "config.json").write_text("{}")  # a model folder without tokenizer.json
    for build in (
        lambda: providers.word_pieces.__wrapped__(str(tmp_path)),
        lambda: embedding.transformers_encoder(tmp_path, 128),
        lambda: providers._embedder_class.__wrapped__(),
    ):
        with pytest.raises(ConfigError, match=r"pip install 'abstract-assistant\[hf\]'"):
            build()


@pytest.mark.slow
def test_without_chromium_the_browser_tests_skip_with_one_line_unless_ci_requires_them(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-chromium")
    pytest_args = [sys.executable, "-m", "pytest", str(ROOT / "tests" / "test_browser.py"), "-q"]
    fresh = subprocess.run(pytest_args, cwd=ROOT, env=_clean_env(ASSISTANT_CHROMIUM=missing), capture_output=True, text=True)
    skips = [line for line in fresh.stdout.splitlines() if line.startswith("SKIPPED")]
    assert fresh.returncode == 5 and len(skips) == 1 and "apt-get install chromium" in skips[0], fresh.stdout  # 5: none ran
    ci = _clean_env(ASSISTANT_CHROMIUM=missing, ASSISTANT_REQUIRE_BROWSER="1")
    required = subprocess.run([*pytest_args, "-k", "inject_markup"], cwd=ROOT, env=ci, capture_output=True, text=True)
    assert required.returncode == 1 and "ASSISTANT_REQUIRE_BROWSER=1 but no" in required.stdout, required.stdout
