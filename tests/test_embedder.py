"""The embedder: sentence-transformers' vectors without importing it (or transformers), loaded once, queries on one thread."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings
from assistant.providers import _plain_mean_pooling, build_embedder, embed_model_path

TEXTS = [
    "Symbolic autoencoding connects two generative models via a discrete bottleneck layer.",
    "What does the neural tangent kernel describe?",
    "x",
    "A much longer passage about post-training quantization of transformer weights, " * 12,
]


@pytest.mark.slow
def test_vectors_match_sentence_transformers() -> None:
    from sentence_transformers import SentenceTransformer

    ours = build_embedder(Settings())
    reference = SentenceTransformer(str(embed_model_path("all-MiniLM-L6-v2")), device="cpu")
    expected = reference.encode(TEXTS, normalize_embeddings=True)
    got = np.array(ours.get_text_embedding_batch(TEXTS))
    assert got.shape == expected.shape == (4, 384)
    assert np.abs(got - expected).max() < 1e-5
    assert np.abs(np.array(ours.get_query_embedding(TEXTS[1])) - expected[1]).max() < 1e-5


def test_embedder_is_built_once_per_process() -> None:
    assert build_embedder(Settings()) is build_embedder(Settings())


@pytest.mark.slow
def test_the_default_model_loads_without_sentence_transformers() -> None:
    code = (
        "import sys\n"
        "from assistant.config import Settings\n"
        "from assistant.providers import build_embedder\n"
        "build_embedder(Settings()).get_query_embedding('hello')\n"
        "print(sorted(m for m in ('sentence_transformers', 'transformers', 'sklearn', 'scipy.stats') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.slow
def test_own_bert_encoder_equals_transformers_bert_model() -> None:
    import torch

    from assistant.providers import _own_bert, _transformers_model

    path = embed_model_path("all-MiniLM-L6-v2")
    texts = [*TEXTS, "Ünïcödé — αβγ, [brackets] and 3.5 %", "word " * 400]
    ours, reference = _own_bert(path, 256), _transformers_model(path, 256)
    assert ours is not None
    with torch.inference_mode():
        states, mask, offsets = ours(texts)
        expected, expected_mask, expected_offsets = reference(texts)
    assert states.shape == expected.shape == (len(texts), 256, 384)  # padded to the longest, cut at the window
    assert torch.equal(mask, expected_mask) and torch.equal(offsets, expected_offsets)
    assert (states - expected)[mask.bool()].abs().max() < 1e-5


def test_models_other_than_plain_bert_go_through_transformers(tmp_path: Path) -> None:
    from assistant import bert

    source = embed_model_path("all-MiniLM-L6-v2")
    assert bert.supports(source)
    config = json.loads((source / "config.json").read_text())
    for change in ({"model_type": "mpnet"}, {"hidden_act": "gelu_new"}, {"position_embedding_type": "relative_key"}):
        (tmp_path / "config.json").write_text(json.dumps({**config, **change}))
        (tmp_path / "model.safetensors").write_bytes(b"")
        assert not bert.supports(tmp_path), change
    assert not bert.supports(tmp_path / "missing")


def test_other_pooling_falls_back_to_sentence_transformers(tmp_path: Path) -> None:
    assert _plain_mean_pooling(embed_model_path("all-MiniLM-L6-v2"))
    (tmp_path / "1_Pooling").mkdir()
    modules = [{"type": "sentence_transformers.models.Transformer"}, {"type": "sentence_transformers.models.Pooling"}]
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}))
    assert not _plain_mean_pooling(tmp_path)
    modules.append({"type": "sentence_transformers.models.Dense"})
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    assert not _plain_mean_pooling(tmp_path)
    assert not _plain_mean_pooling(tmp_path / "missing")


@pytest.mark.parametrize("size", [1, 5])
def test_torch_threads_are_restored(size: int) -> None:
    import torch

    before = torch.get_num_threads()
    build_embedder(Settings()).get_text_embedding_batch(TEXTS[:1] * size)
    assert torch.get_num_threads() == before


def test_span_vectors_come_from_the_same_pass() -> None:
    embedder = build_embedder(Settings())
    text = "Title. Symbolic autoencoding uses a discrete bottleneck. It trains two models jointly."
    first = text.index("Symbolic")
    span = (first, text.index(" It trains"))
    long_text = "word " * 400 + "the end."
    (vector, parts), (_, cut) = embedder.embed_with_spans([text, long_text], [[span], [(len(long_text) - 8, len(long_text))]])
    assert np.abs(np.array(vector) - np.array(embedder.get_text_embedding(text))).max() < 1e-5
    assert parts[0] is not None and abs(np.linalg.norm(parts[0]) - 1) < 1e-5
    alone = np.array(embedder.get_text_embedding(text[span[0] : span[1]]))
    assert 0.6 < float(np.dot(parts[0], alone)) < 0.9999  # about the same meaning, read in context
    assert cut == [None]  # truncation cut the span off: the indexer embeds that sentence on its own
