"""int8 for the BERT graph: smoothed, then ONNX Runtime's dynamic int8 per output channel.

ONNX Runtime's dynamic int8 quantises a MatMul's input with one scale for the whole tensor, so a few
channels with large values (they are in every BERT) cost the rest their precision. Smoothing (Xiao et al.
2023, "SmoothQuant") moves part of that range into the weights, exactly in fp32: X·W = (X / s)·(s·W) with
s_j = max|X_j|^α / max|W_j|^(1-α) per input channel, measured on calibration text, α chosen per MatMul by
its simulated int8 error. The few MatMuls whose output still differs by more than KEEP_ABOVE after
smoothing stay fp32. Measured on MiniLM
(benchmarks/QUALITY.md, "Smoothed int8"): mean cosine to fp32 .9990 (plain int8 of every MatMul .9949, the
earlier shape with the feed-forward outputs fp32 .9979) at 1.6x the fp32 speed.

Where ONNX Runtime's u8 x s8 kernel saturates (x86 without VNNI: AVX2 multiplies byte pairs into a 16-bit
sum, and 255*127 + 255*127 does not fit), the full-range graph's vectors fall to cosine .85 of fp32 at worst
(mean .965; MiniLM, 75 seed abstracts 8 a call, an AVX2 EPYC). There the weights take 7 bits (ONNX Runtime's
`reduce_range`, steps of max/64), the error simulation with them: mean cosine .997, the kernel exact.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

ALPHAS = (0.5, 0.6, 0.7, 0.8, 0.9)  # each MatMul takes its least-error one; a search over 0-.9 chose .6-.9 on MiniLM
FULL, REDUCED = 127, 64  # weight steps each side of zero: int8, and ONNX Runtime's reduce_range (7 bits)
KEEP_ABOVE = 0.02  # MiniLM: the first four feed-forward outputs 0.029-0.052, every other MatMul <= 0.018
CALIBRATION_TEXTS = 64
ERROR_TEXTS = 6  # enough to rank the alphas and to tell the kept MatMuls, far above the threshold, from the rest


def calibration_texts(limit: int = CALIBRATION_TEXTS) -> list[str]:
    """Abstract-sized pieces of the packaged seed files: ML abstracts, the text this graph is for."""
    folder = resources.files("assistant.seed_files")
    lines = [
        line.split(":", 1)[1].strip() if line.startswith("Abstract:") else line.strip()
        for name in sorted(p.name for p in folder.iterdir() if p.name.endswith(".txt"))
        for line in (folder / name).read_text(encoding="utf-8").splitlines()
    ]
    return [line for line in lines if len(line) > 400][:limit]


PROBE = "int8_probe.onnx"  # in assistant/data: a 16x64 MatMulInteger of 255s by 127s (`probe_model`, tested)


def probe_model() -> Any:
    """The model in PROBE, built: u8 input [16, 64] times s8 weights, all 127, to int32."""
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.full((64, 16), 127, np.int8), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "w"], ["y"])], "probe",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [16, 64])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [16, 16])], [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="abstract-assistant")
    model.ir_version = 8
    return model


@functools.cache
def saturates() -> bool:
    """Whether ONNX Runtime's int8 MatMul kernel on this CPU saturates a byte pair's sum: asked of the kernel
    itself, as the CPU's feature flags are read differently on every OS. The probe is a packaged file, since
    building it needs `onnx` (1.1 s to import) and a process loading a cached graph imports only onnxruntime."""
    import onnxruntime as ort

    model = (resources.files("assistant.data") / PROBE).read_bytes()
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    (product,) = session.run(None, {"a": np.full((16, 64), 255, np.uint8)})
    return bool((product != 255 * 127 * 64).any())


def int8_graph(model: Any, batches: list[tuple[np.ndarray, np.ndarray]], work: Path, reduced: bool = False) -> Any:
    """`model` (fp32, from onnxbert.build_graph) smoothed and quantised; `batches` are (ids, mask) pairs of
    calibration text. `work` holds the intermediate files. `reduced`: 7-bit weights, for a kernel that
    saturates (`saturates`)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    targets = _targets(model)
    peaks = _peaks(model, targets, batches, work)
    weights = {init.name: init for init in model.graph.initializer}
    candidates = [{n.name: _scale(peaks[n.input[0]], _array(weights[n.input[1]]), alpha) for n in targets} for alpha in ALPHAS]
    errors = _errors(model, targets, candidates, batches[:ERROR_TEXTS], work, REDUCED if reduced else FULL)
    best = {n.name: int(np.argmin([errs[n.name] for errs in errors])) for n in targets}
    scales = {name: candidates[i][name] for name, i in best.items()}
    kept = [name for name, i in best.items() if errors[i][name] > KEEP_ABOVE]
    smoothed = _smooth(model, [n for n in targets if n.name not in kept], scales)
    source, built = work / "smoothed.onnx", work / "int8.onnx"
    onnx.save(smoothed, str(source))
    quiet = _Drop("pre-processing")  # quantize_dynamic's advice on the root logger, every time
    logging.getLogger().addFilter(quiet)
    try:
        # The fused ops are outside shape inference, so the quantiser is told their outputs are float.
        quantize_dynamic(
            source, built, per_channel=True, reduce_range=reduced, weight_type=QuantType.QInt8, nodes_to_exclude=kept,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        logging.getLogger().removeFilter(quiet)
    return onnx.load(str(built))


def _targets(model: Any) -> list[Any]:
    """The Attention and MatMul nodes with a constant weight: what dynamic int8 quantises."""
    constants = {init.name for init in model.graph.initializer}
    return [n for n in model.graph.node if n.op_type in ("Attention", "MatMul") and n.input[1] in constants]


def _array(init: Any) -> np.ndarray:
    from onnx import numpy_helper

    return numpy_helper.to_array(init).astype(np.float32)


def _inputs(model: Any, targets: list[Any], batches: list[tuple[np.ndarray, np.ndarray]], work: Path) -> Iterator[dict[str, np.ndarray]]:
    """Per batch: each target's input activations, rows of real (unpadded) tokens only."""
    import onnx
    import onnxruntime as ort
    from onnx import helper

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    names = sorted({n.input[0] for n in targets})
    probe.graph.output.extend(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None) for name in names)
    path = work / "probe.onnx"
    onnx.save(probe, str(path))
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    for ids, mask in batches:
        outs = session.run(names, {"input_ids": ids.astype(np.int64), "attention_mask": mask.astype(np.int64)})
        real = mask.reshape(-1).astype(bool)
        yield {name: out.reshape(-1, out.shape[-1])[real] for name, out in zip(names, outs)}


def _peaks(model: Any, targets: list[Any], batches: list[tuple[np.ndarray, np.ndarray]], work: Path) -> dict[str, np.ndarray]:
    peaks: dict[str, np.ndarray] = {}
    for acts in _inputs(model, targets, batches, work):
        for name, x in acts.items():
            peaks[name] = np.maximum(peaks.get(name, 0.0), np.abs(x).max(axis=0))
    return peaks


def _scale(peak: np.ndarray, weight: np.ndarray, alpha: float) -> np.ndarray:
    """s per input channel (weight is [in, out]); clipped so no channel is scaled to nothing."""
    x = np.maximum(peak, 1e-5)
    w = np.maximum(np.abs(weight).max(axis=1), 1e-5)
    return np.clip(x**alpha / w ** (1 - alpha), 1e-3, 1e3).astype(np.float32)


def fake_activation(x: np.ndarray) -> np.ndarray:
    """x through ONNX Runtime's DynamicQuantizeLinear and back: uint8, one scale and zero point per tensor."""
    low, high = min(0.0, float(x.min())), max(0.0, float(x.max()))
    scale = (high - low) / 255 or 1.0
    zero = np.clip(np.rint(-low / scale), 0, 255)
    return (np.clip(np.rint(x / scale) + zero, 0, 255) - zero) * scale


def fake_weight(w: np.ndarray, steps: int = FULL) -> np.ndarray:
    """w ([in, out]) through symmetric int8 (`steps` each side of zero), one scale per output channel, and back."""
    scale = np.abs(w).max(axis=0) / steps
    scale[scale == 0] = 1.0
    return np.rint(w / scale) * scale


def _errors(
    model: Any,
    targets: list[Any],
    candidates: list[dict[str, np.ndarray]],
    batches: list[tuple[np.ndarray, np.ndarray]],
    work: Path,
    steps: int = FULL,
) -> list[dict[str, float]]:
    """Per candidate set of scales: each target's relative output error (Frobenius, over the batches) once
    smoothed by them and quantised."""
    weights = {init.name: init for init in model.graph.initializer}
    plain = {n.name: _array(weights[n.input[1]]) for n in targets}
    fake = [{n.name: fake_weight(plain[n.name] * scales[n.name][:, None], steps) for n in targets} for scales in candidates]
    wrong = [dict.fromkeys(plain, 0.0) for _ in candidates]
    total = dict.fromkeys(plain, 0.0)
    for acts in _inputs(model, targets, batches, work):
        for n in targets:
            x = acts[n.input[0]]
            exact = x @ plain[n.name]
            total[n.name] += float((exact**2).sum())
            for i, scales in enumerate(candidates):
                approx = fake_activation(x / scales[n.name]) @ fake[i][n.name]
                wrong[i][n.name] += float(((exact - approx) ** 2).sum())
    return [{name: (errs[name] / max(total[name], 1e-30)) ** 0.5 for name in plain} for errs in wrong]


def _smooth(model: Any, nodes: list[Any], scales: dict[str, np.ndarray]) -> Any:
    """A copy of `model` where each node's input is divided by its s and its weight's rows multiplied by it.
    Where the input is an Attention's output (the attention projection), the division is folded into that
    Attention's value weights and bias (its output is linear in them); elsewhere a Mul is inserted."""
    import onnx
    from onnx import helper, numpy_helper

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    weights = {init.name: init for init in copy.graph.initializer}
    producer = {out: n for n in copy.graph.node for out in n.output}
    chosen = {n.name for n in nodes}

    def update(name: str, array: np.ndarray) -> None:
        weights[name].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(array, np.float32), name))

    added: dict[str, Any] = {}
    for n in copy.graph.node:
        if n.name not in chosen:
            continue
        s = scales[n.name]
        update(n.input[1], _array(weights[n.input[1]]) * s[:, None])
        source = producer.get(n.input[0])
        if source is not None and source.op_type == "Attention":
            width = s.shape[0]  # [q | k | v] columns: the context is the heads' values, in order
            qkv, bias = _array(weights[source.input[1]]), _array(weights[source.input[2]])
            qkv[:, 2 * width :] /= s
            bias[2 * width :] /= s
            update(source.input[1], qkv)
            update(source.input[2], bias)
            continue
        inverse = f"{n.name}.smooth"
        copy.graph.initializer.append(numpy_helper.from_array((1 / s).astype(np.float32), inverse))
        added[n.name] = helper.make_node("Mul", [n.input[0], inverse], [f"{inverse}.out"], name=f"{inverse}.out")
        n.input[0] = f"{inverse}.out"
    ordered = []
    for n in copy.graph.node:
        if n.name in added:
            ordered.append(added[n.name])
        ordered.append(n)
    del copy.graph.node[:]
    copy.graph.node.extend(ordered)
    return copy


class _Drop(logging.Filter):
    def __init__(self, words: str) -> None:
        super().__init__()
        self.words = words

    def filter(self, record: logging.LogRecord) -> bool:
        return self.words not in record.getMessage()
