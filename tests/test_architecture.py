"""The layer contract in pyproject.toml holds (imports flow one way, only the page imports gradio), and the
package type-checks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept() -> None:
    lint = shutil.which("lint-imports")
    assert lint, "lint-imports is missing: pip install -c constraints.txt -e '.[test]'"
    out = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "2 kept, 0 broken" in out.stdout


@pytest.mark.slow
def test_the_package_type_checks(tmp_path: Path) -> None:
    """`mypy` with the settings in pyproject.toml (pydantic's plugin, every function typed) finds nothing.

    conftest starts it when the tests are chosen and runs this test last; run alone, it starts here."""
    from conftest import BACKGROUND

    mypy = BACKGROUND.pop("mypy", None) or subprocess.Popen(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        output, _ = mypy.communicate(timeout=600)
    finally:
        if mypy.poll() is None:  # timed out: none left behind
            mypy.kill()
            mypy.communicate()
    assert mypy.returncode == 0, output[-6000:]
    assert "no issues found" in output
