"""Smoothed int8: the simulation matches ONNX Runtime, smoothing is exact in fp32, and the int8 graph stays close."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant import onnxbert, quantise
from assistant.providers import embed_model_path


def _run(model: object, feeds: dict[str, np.ndarray], tmp_path: Path, name: str) -> list[np.ndarray]:
    import onnx
    import onnxruntime as ort

    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)


def test_the_activation_simulation_is_onnxruntime_dynamic_quantize_linear(tmp_path: Path) -> None:
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["q", "scale", "zero"]),
        helper.make_node("DequantizeLinear", ["q", "scale", "zero"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "dq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [64, 48])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [64, 48])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    rng = np.random.default_rng(0)
    for x in (rng.normal(size=(64, 48)), rng.normal(size=(64, 48)) + 3.0, rng.normal(size=(64, 48)) * np.r_[30.0, np.ones(47)]):
        x = x.astype(np.float32)
        (expected,) = _run(model, {"x": x}, tmp_path, "dq")
        assert np.allclose(quantise.fake_activation(x), expected, atol=1e-5)
        assert not np.allclose(expected, x, atol=1e-5)  # really quantised


def test_the_weight_simulation_rounds_each_output_channel_to_127_steps() -> None:
    w = np.array([[1.0, -0.5], [0.25, 0.004]], np.float32)
    fake = quantise.fake_weight(w)
    assert np.allclose(fake[:, 0], [1.0, round(0.25 * 127) / 127])
    assert np.abs(fake - w).max() <= np.abs(w).max(axis=0).max() / 254 + 1e-7


@pytest.fixture(scope="module")
def minilm() -> tuple[Path, object, list[tuple[np.ndarray, np.ndarray]]]:
    path = embed_model_path("all-MiniLM-L6-v2")
    return path, onnxbert.build_graph(path), onnxbert._calibration(path)


@pytest.mark.slow
def test_smoothing_changes_no_output_in_fp32(minilm: tuple[Path, object, list], tmp_path: Path) -> None:
    from onnx import numpy_helper

    _, graph, batches = minilm
    targets = quantise._targets(graph)
    assert len(targets) == 24  # per layer: attention, its projection, the feed-forward in and out
    peaks = quantise._peaks(graph, targets, batches[:8], tmp_path)
    weights = {init.name: numpy_helper.to_array(init) for init in graph.graph.initializer}
    scales = {n.name: quantise._scale(peaks[n.input[0]], weights[n.input[1]], 0.8) for n in targets}
    assert max(float(np.abs(np.log(s)).max()) for s in scales.values()) > 1.0  # the scales really move ranges
    smoothed = quantise._smooth(graph, targets, scales)
    ops = [n.op_type for n in smoothed.graph.node]
    assert ops.count("Mul") == 18  # attention and feed-forward inputs; the projections fold into the values
    for ids, mask in batches[-3:]:
        feeds = {"input_ids": ids, "attention_mask": mask}
        (before,), (after,) = _run(graph, feeds, tmp_path, "plain"), _run(smoothed, feeds, tmp_path, "smoothed")
        assert np.abs(before - after).max() < 2e-4


@pytest.mark.slow
def test_the_int8_graph_stays_close_and_keeps_only_the_layers_it_cannot_quantise(minilm: tuple[Path, object, list], tmp_path: Path) -> None:
    import onnx
    import onnxruntime as ort

    path, graph, batches = minilm
    built = onnx.load(str(onnxbert.graph_file(path, "int8", tmp_path)))
    ops = [n.op_type for n in built.graph.node]
    (errors,) = quantise._errors(
        graph, quantise._targets(graph),
        [{n.name: np.ones(1, np.float32) for n in quantise._targets(graph)}], batches[:2], tmp_path,
    )
    assert max(errors.values()) > quantise.KEEP_ABOVE  # unsmoothed, some MatMuls are far off
    assert 0 < ops.count("MatMul") <= 8  # the kept feed-forward outputs, fp32 (4; 8 at 7 bits); the rest int8
    int8 = ops.count("DynamicQuantizeMatMul") + ops.count("MatMulInteger")
    assert ops.count("QAttention") == 6 and int8 >= 10 and int8 + ops.count("MatMul") == 18  # every other MatMul int8
    exact = ort.InferenceSession(str(onnxbert.graph_file(path, "fp32", tmp_path)), providers=["CPUExecutionProvider"])
    fast = ort.InferenceSession(str(onnxbert.graph_file(path, "int8", tmp_path)), providers=["CPUExecutionProvider"])
    cosines = []
    for ids, mask in batches[:16]:
        feeds = {"input_ids": ids, "attention_mask": mask}
        a, b = exact.run(None, feeds)[0][0].mean(0), fast.run(None, feeds)[0][0].mean(0)
        cosines.append(float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)))
    # plain int8 was .9925 at worst; at 7 bits (a saturating kernel) .9969 over 75 seed abstracts
    assert min(cosines) > (0.996 if quantise.saturates() else 0.998) and max(cosines) < 0.99999, cosines


@pytest.mark.slow
def test_the_weight_range_taken_is_the_one_this_cpus_kernel_computes_best(minilm: tuple[Path, object, list], tmp_path: Path) -> None:
    """Where the int8 kernel saturates (x86 without VNNI), full-range weights wreck the vectors and 7 bits
    are closer; where it does not, the full range is. Whichever this machine is, the graph taken is the closer."""
    import onnx
    import onnxruntime as ort

    path, graph, batches = minilm
    exact = ort.InferenceSession(str(onnxbert.graph_file(path, "fp32", tmp_path)), providers=["CPUExecutionProvider"])
    ids = np.zeros((8, max(b[0].shape[1] for b in batches[:8])), np.int64)
    mask = np.zeros_like(ids)
    for row, (one, _) in enumerate(batches[:8]):  # eight texts a call, as an ingest embeds them
        ids[row, : one.shape[1]], mask[row, : one.shape[1]] = one[0], 1
    feeds = {"input_ids": ids, "attention_mask": mask}

    def pooled(session: object) -> np.ndarray:
        states = session.run(None, feeds)[0]  # type: ignore[attr-defined]
        vectors = (states * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    reference = pooled(exact)
    worst = {}
    for reduced in (False, True):
        built = tmp_path / f"int8-{reduced}.onnx"
        onnx.save(quantise.int8_graph(graph, batches, tmp_path, reduced), str(built))
        worst[reduced] = float((pooled(ort.InferenceSession(str(built), providers=["CPUExecutionProvider"])) * reference).sum(1).min())
    taken = quantise.saturates()
    assert worst[taken] > worst[not taken] and worst[taken] > 0.995, worst
    name = onnxbert.graph_file(path, "int8", tmp_path).name  # and the cached file says which it is
    assert name.endswith("-int8-7bit.onnx" if taken else "-int8.onnx"), name


def test_calibration_text_is_abstracts_from_the_packaged_seeds() -> None:
    texts = quantise.calibration_texts()
    assert len(texts) == quantise.CALIBRATION_TEXTS and texts == quantise.calibration_texts()
    assert all(len(t) > 400 and not t.startswith("Abstract:") for t in texts)


def test_the_packaged_saturation_probe_is_the_model_the_code_describes() -> None:
    from importlib import resources

    packaged = (resources.files("assistant.data") / quantise.PROBE).read_bytes()
    assert packaged == quantise.probe_model().SerializeToString()  # regenerate it from probe_model() if this fails


def test_loading_an_int8_graph_asks_the_kernel_without_importing_onnx() -> None:
    import subprocess
    import sys

    code = "import sys; from assistant import quantise; s = quantise.saturates(); print(s, 'onnx' in sys.modules)"
    found, onnx_loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert found == str(quantise.saturates()) and onnx_loaded == "False"
