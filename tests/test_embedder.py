"""The embedder: sentence-transformers' vectors on ONNX Runtime without importing it, transformers or torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings
from assistant import onnxbert, quantise
from assistant.embedding import MeanPoolEmbedding, onnx_encoder, plain_mean_pooling, torch_threads, transformers_encoder
from assistant.providers import build_embedder, embed_model_path

TEXTS = [
    "Symbolic autoencoding connects two generative models via a discrete bottleneck layer.",
    "What does the neural tangent kernel describe?",
    "x",
    "A much longer passage about post-training quantization of transformer weights, " * 12,
]


@pytest.mark.slow
def test_vectors_match_sentence_transformers() -> None:
    from sentence_transformers import SentenceTransformer

    ours = build_embedder(Settings(embed_precision="fp32"))
    reference = SentenceTransformer(str(embed_model_path("all-MiniLM-L6-v2")), device="cpu")
    expected = reference.encode(TEXTS, normalize_embeddings=True)
    got = np.array(ours.get_text_embedding_batch(TEXTS))
    assert got.shape == expected.shape == (4, 384)
    assert np.abs(got - expected).max() < 1e-5
    # a question goes through the 8-bit-weight graph where the CPU has VNNI (onnxbert.query_graph): close, not exact
    assert float(np.array(ours.get_query_embedding(TEXTS[1])) @ expected[1]) > 0.999


def test_embedder_is_built_once_per_process() -> None:
    assert build_embedder(Settings()) is build_embedder(Settings())


@pytest.mark.slow
def test_the_default_model_loads_without_torch_or_sentence_transformers() -> None:
    code = (
        "import sys\n"
        "from assistant.config import Settings\n"
        "from assistant.providers import build_embedder\n"
        "build_embedder(Settings()).get_query_embedding('hello')\n"
        "heavy = ('torch', 'sentence_transformers', 'transformers', 'sklearn', 'scipy.stats')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.slow
def test_onnx_graph_equals_transformers_bert_model(tmp_path: Path) -> None:
    path = embed_model_path("all-MiniLM-L6-v2")
    texts = [*TEXTS, "Ünïcödé — αβγ, [brackets] and 3.5 %", "word " * 400]
    ours = onnx_encoder(path, 256, "fp32", tmp_path)
    assert ours is not None
    for small in (True, False):  # the one-thread session and the all-threads one compute the same
        states, mask, offsets = ours(texts, small)
        expected, expected_mask, expected_offsets = transformers_encoder(path, 256)(texts, small)
        assert states.shape == expected.shape == (len(texts), 256, 384)  # padded to the longest, cut at the window
        assert np.array_equal(mask, expected_mask) and np.array_equal(offsets, expected_offsets)
        assert np.abs(states - expected)[mask.astype(bool)].max() < 1e-5


@pytest.mark.slow
def test_int8_vectors_stay_close_and_are_kept_apart_in_the_store(tmp_path: Path) -> None:
    exact = np.array(build_embedder(Settings(embed_precision="fp32")).get_text_embedding_batch(TEXTS))
    fast = np.array(build_embedder(Settings(embed_precision="int8", models_dir=tmp_path)).get_text_embedding_batch(TEXTS))
    cosines = (exact * fast).sum(1)
    # close, and really quantised; "x" is .994: its batch-mate, a long passage, sets the activation range.
    # Where the int8 kernel saturates, the weights are 7-bit (assistant/quantise.py): median .9975 there.
    median = 0.997 if quantise.saturates() else 0.998
    assert cosines.min() > 0.99 and np.median(cosines) > median and cosines.max() < 0.99999, cosines
    assert Settings(embed_precision="int8").index_signature() != Settings(embed_precision="fp32").index_signature()


@pytest.mark.slow
@pytest.mark.parametrize("vnni", [True, False])
def test_questions_go_through_8_bit_weights_where_that_is_faster_and_documents_never_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vnni: bool
) -> None:
    """A question's pass is bound by reading the MatMul weights: in 8 bits (MatMulNBits) it is ~1.5x faster
    at cosine > .999 to fp32 where the CPU has VNNI; on AVX2 alone it is slower, and questions stay fp32.
    Stored vectors stay exact fp32, however few texts an ingest embeds at once."""
    import onnx

    monkeypatch.setattr(quantise, "saturates", lambda: not vnni)  # what the kernel probe says on such a CPU
    path = embed_model_path("all-MiniLM-L6-v2")
    embedder = MeanPoolEmbedding("minilm", onnx_encoder(path, 256, "fp32", tmp_path), 32)  # type: ignore[arg-type]
    reference = transformers_encoder(path, 256)
    for text in TEXTS:
        asked = np.array(embedder.get_query_embedding(text))
        stored = np.array(embedder.get_text_embedding(text))  # one text: the small-input path an ingest may take
        states, mask, _ = reference([text], True)
        exact = (states[0] * mask[0][:, None]).sum(0) / mask[0].sum()
        exact /= np.linalg.norm(exact)
        assert abs(stored - exact).max() < 1e-5  # documents: fp32
        if vnni:
            assert 0.998 < float(asked @ exact) < 0.99999  # questions: close (.9987 for "x"), and really 8-bit
        else:
            assert abs(asked - exact).max() < 1e-5
    assert onnxbert.query_graph("fp32") == ("q8w" if vnni else "fp32") and onnxbert.query_graph("int8") == "int8"
    graph = onnx.load(str(onnxbert.graph_file(path, "q8w", tmp_path)), load_external_data=False)
    ops = [n.op_type for n in graph.graph.node]
    assert ops.count("MatMulNBits") == 18 and "MatMul" not in ops  # three a layer; attention's weights stay fp32


def test_the_graph_is_built_once_and_cached_under_the_weights_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = embed_model_path("all-MiniLM-L6-v2")
    digest = onnxbert.weights_hash(path)
    older = [tmp_path / f"{path.name}-{digest}-g1-fp32.onnx", tmp_path / f"{path.name}-{digest}-g1-fp32.onnx.data"]
    other_model = tmp_path / f"other-{digest}-g1-fp32.onnx"
    for stale in (*older, other_model):
        stale.write_bytes(b"an earlier version's graph")
    built = onnxbert.graph_file(path, "fp32", tmp_path)
    assert not any(p.exists() for p in older)  # an upgrade's new graph replaces the old ones on disk too
    assert other_model.exists()  # another model's graphs are not this one's to remove
    other_model.unlink()
    assert onnxbert.weights_hash(path) in built.name
    beside = {p.name for p in tmp_path.iterdir()} - {built.name, f"{built.name}.data"}  # the weights beside the graph
    assert len(beside) == 1 and beside.pop().endswith(".hash.json")  # and the hash, remembered

    def fail(_: Path) -> None:
        raise AssertionError("rebuilt or hashed again")

    monkeypatch.setattr(onnxbert, "build_graph", fail)
    monkeypatch.setattr(onnxbert, "weights_hash", fail)
    assert onnxbert.graph_file(path, "fp32", tmp_path) == built


def test_the_weights_hash_is_remembered_until_the_weights_file_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from onnx import TensorProto, helper, numpy_helper

    def tiny(_: Path) -> object:  # y = x + b: one initialiser, large enough to go to the .data file
        bias = numpy_helper.from_array(np.arange(512, dtype=np.float32), "b")
        node = helper.make_node("Add", ["x", "b"], ["y"])
        io = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [512]) for name in ("x", "y")]
        return helper.make_model(helper.make_graph([node], "tiny", io[:1], io[1:], [bias]))

    hashed: list[str] = []
    real_hash = onnxbert.weights_hash
    monkeypatch.setattr(onnxbert, "build_graph", tiny)
    monkeypatch.setattr(onnxbert, "weights_hash", lambda model: hashed.append(model.name) or real_hash(model))
    model, cache = tmp_path / "model", tmp_path / "cache"
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"first weights")
    first = onnxbert.graph_file(model, "fp32", cache)
    assert onnxbert.graph_file(model, "fp32", cache) == first and hashed == ["model"]
    (model / "model.safetensors").write_bytes(b"other weights")
    second = onnxbert.graph_file(model, "fp32", cache)
    assert second != first and hashed == ["model", "model"]
    assert (cache / f"{second.name}.data").exists()
    import onnxruntime as ort

    x = np.ones(512, dtype=np.float32)
    assert np.array_equal(ort.InferenceSession(str(second)).run(None, {"x": x})[0], x + np.arange(512))


def test_a_failed_build_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def killed(_: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(onnxbert, "build_graph", killed)
    with pytest.raises(KeyboardInterrupt):
        onnxbert.graph_file(embed_model_path("all-MiniLM-L6-v2"), "fp32", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_models_other_than_plain_bert_go_through_transformers(tmp_path: Path) -> None:
    source = embed_model_path("all-MiniLM-L6-v2")
    assert onnxbert.supports(source)
    config = json.loads((source / "config.json").read_text())
    for change in ({"model_type": "mpnet"}, {"hidden_act": "gelu_new"}, {"position_embedding_type": "relative_key"}):
        (tmp_path / "config.json").write_text(json.dumps({**config, **change}))
        (tmp_path / "model.safetensors").write_bytes(b"")
        assert not onnxbert.supports(tmp_path), change
    assert not onnxbert.supports(tmp_path / "missing")


def test_other_pooling_falls_back_to_sentence_transformers(tmp_path: Path) -> None:
    assert plain_mean_pooling(embed_model_path("all-MiniLM-L6-v2"))
    (tmp_path / "1_Pooling").mkdir()
    modules = [{"type": "sentence_transformers.models.Transformer"}, {"type": "sentence_transformers.models.Pooling"}]
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}))
    assert not plain_mean_pooling(tmp_path)
    modules.append({"type": "sentence_transformers.models.Dense"})
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    assert not plain_mean_pooling(tmp_path)
    assert not plain_mean_pooling(tmp_path / "missing")


def test_torch_threads_are_restored() -> None:
    import torch

    before = torch.get_num_threads()
    with torch_threads(small=True):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_span_vectors_come_from_the_same_pass() -> None:
    embedder = build_embedder(Settings(embed_precision="fp32"))  # exact: int8 vectors depend on the batch a little
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
