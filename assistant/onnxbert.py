"""The default MiniLM on ONNX Runtime: a BERT graph built from the packaged safetensors, no torch.

No ONNX file ships in any package we can install and nothing may be downloaded, so the graph is
written here node by node from the weights (`onnx.helper`), with ONNX Runtime's fused transformer
ops (Attention, SkipLayerNormalization, BiasGelu: what its optimizer produces from an exported BERT),
then optionally quantised (smoothed dynamic int8: assistant/quantise.py) and cached under the models
folder, keyed by the weights' hash. Serving only loads the cached file with onnxruntime: torch is never imported.
Equal to transformers' BertModel within 1e-5 in fp32 (tests/test_embedder.py); speed and
quality of fp32 and int8 are in benchmarks/QUALITY.md and RESULTS.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

import numpy as np

from . import quantise

Precision = Literal["fp32", "int8"]
Graph = Literal["fp32", "int8", "q8w"]  # q8w: the fp32 graph with 8-bit weights, for questions (query_graph)
GRAPH_VERSION = "4"  # part of the cache key: bump when the graph below or its file layout changes
MS = "com.microsoft"
FFN_OUT = ".ffn_out"  # name suffix of the feed-forward output MatMuls
# The variant the graph below reproduces exactly: absolute positions, exact (erf) GELU, post-layer-norm.
SUPPORTED = {"model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "absolute"}


def supports(model_dir: Path) -> bool:
    """Whether `model_dir` holds a plain BERT this graph reproduces (others go through transformers)."""
    try:
        config = json.loads((model_dir / "config.json").read_text())
    except (OSError, ValueError):
        return False
    defaults = {"position_embedding_type": "absolute"}
    return (model_dir / "model.safetensors").exists() and all(
        config.get(key, defaults.get(key)) == value for key, value in SUPPORTED.items()
    )


def weights_hash(model_dir: Path) -> str:
    digest = hashlib.sha256()
    with open(model_dir / "model.safetensors", "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _hash_memo(model_dir: Path, cache_dir: Path) -> tuple[Path, str]:
    """Where `weights_hash` is remembered, and the stamp of the weights file it holds for (path, size,
    times, inode: a rewritten or replaced file gets another). Hashing the 87 MB of MiniLM's weights took
    63-67 ms of every 2.3 s cold `assistant ask`; reading the memo takes well under 1 ms."""
    weights = (model_dir / "model.safetensors").resolve()
    st = weights.stat()
    where = hashlib.sha256(str(weights).encode()).hexdigest()[:12]
    return cache_dir / f"{model_dir.name}-{where}.hash.json", f"{weights}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"


def _remembered(memo: Path, stamp: str) -> str | None:
    try:
        saved = json.loads(memo.read_text())
    except (OSError, ValueError):
        return None
    ok = isinstance(saved, dict) and saved.get("stamp") == stamp and isinstance(saved.get("hash"), str)
    return saved["hash"] if ok else None


def _remember(memo: Path, stamp: str, digest: str) -> None:
    tmp = memo.with_name(f"{memo.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(json.dumps({"stamp": stamp, "hash": digest}))
        os.replace(tmp, memo)
    except OSError:  # a read-only models folder: hashed again next time
        tmp.unlink(missing_ok=True)


def build_graph(model_dir: Path) -> Any:
    """An onnx ModelProto: (input_ids, attention_mask) int64 [batch, length] -> last hidden states."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from safetensors.numpy import load_file

    config = json.loads((model_dir / "config.json").read_text())
    heads, layers = int(config["num_attention_heads"]), int(config["num_hidden_layers"])
    eps = float(config.get("layer_norm_eps", 1e-12))
    w = {name.removeprefix("bert."): array.astype(np.float32) for name, array in load_file(str(model_dir / "model.safetensors")).items()}
    inits: list[Any] = []
    nodes: list[Any] = []

    def const(name: str, array: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op: str, inputs: list[str], out: str, domain: str = "", **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [out], name=out, domain=domain, **attrs))
        return out

    def linear(name: str) -> str:  # torch stores [out, in]; MatMul wants [in, out]
        return const(f"{name}.W", w[f"{name}.weight"].T)

    # Embeddings: word + position + token type 0, then LayerNorm.
    length = node("Shape", ["input_ids"], "length", start=1, end=2)  # 1-D [length]
    words = node("Gather", [const("word_embeddings", w["embeddings.word_embeddings.weight"]), "input_ids"], "words")
    origin = const("origin", np.array([0], np.int64))
    placed = node("Slice", [const("position_embeddings", w["embeddings.position_embeddings.weight"]), origin, length, origin], "placed")
    summed = node("Add", [node("Add", [words, placed], "words_placed"), const("token_type", w["embeddings.token_type_embeddings.weight"][0])], "embedded")
    x = node(
        "LayerNormalization",
        [summed, const("emb_ln.g", w["embeddings.LayerNorm.weight"]), const("emb_ln.b", w["embeddings.LayerNorm.bias"])],
        "x0",
        axis=-1,
        epsilon=eps,
    )
    mask = node("Cast", ["attention_mask"], "mask_i32", to=TensorProto.INT32)
    for i in range(layers):
        at = f"encoder.layer.{i}"
        qkv = [f"{at}.attention.self.{part}" for part in ("query", "key", "value")]
        weights = const(f"{at}.qkv.W", np.concatenate([w[f"{p}.weight"].T for p in qkv], axis=1))
        bias = const(f"{at}.qkv.b", np.concatenate([w[f"{p}.bias"] for p in qkv]))
        context = node("Attention", [x, weights, bias, mask], f"{at}.context", domain=MS, num_heads=heads)
        projected = node("MatMul", [context, linear(f"{at}.attention.output.dense")], f"{at}.projected")
        x = node(
            "SkipLayerNormalization",
            [projected, x, const(f"{at}.ln1.g", w[f"{at}.attention.output.LayerNorm.weight"]),
             const(f"{at}.ln1.b", w[f"{at}.attention.output.LayerNorm.bias"]),
             const(f"{at}.out1.b", w[f"{at}.attention.output.dense.bias"])],
            f"{at}.x1",
            domain=MS,
            epsilon=eps,
        )
        up = node("MatMul", [x, linear(f"{at}.intermediate.dense")], f"{at}.up")
        hidden = node("BiasGelu", [up, const(f"{at}.up.b", w[f"{at}.intermediate.dense.bias"])], f"{at}.gelu", domain=MS)
        down = node("MatMul", [hidden, linear(f"{at}.output.dense")], f"{at}{FFN_OUT}")
        x = node(
            "SkipLayerNormalization",
            [down, x, const(f"{at}.ln2.g", w[f"{at}.output.LayerNorm.weight"]),
             const(f"{at}.ln2.b", w[f"{at}.output.LayerNorm.bias"]), const(f"{at}.down.b", w[f"{at}.output.dense.bias"])],
            f"{at}.x2",
            domain=MS,
            epsilon=eps,
        )
    nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="last_hidden_state"))
    batch_length = ["batch", "length"]
    graph = helper.make_graph(
        nodes,
        "bert",
        [helper.make_tensor_value_info(name, TensorProto.INT64, batch_length) for name in ("input_ids", "attention_mask")],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [*batch_length, w["embeddings.LayerNorm.weight"].shape[0]])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def query_graph(precision: Precision) -> Graph:
    """The graph questions are embedded with. At fp32 a question's pass reads the model's 42 MB of fp32
    MatMul weights for ~25 word pieces, and takes 7.5 ms on one thread; with those weights in 8 bits
    (blocks of 128, one scale each: `weight_only_8bit`) it takes 4.9 ms, cosine to the fp32 vector .99967
    (min .9995), and every ranking of bundled + dev is the same (benchmarks/QUALITY.md). That needs a CPU
    whose int8 kernel does not saturate (VNNI): on AVX2 alone the 8-bit graph is the slower one (dev's 130
    questions, one thread: 13.4 vs 11.4 ms median) and one dev question lost its first place, so questions
    take the fp32 graph there. Stored vectors stay fp32; at int8 both sides use the int8 graph."""
    if precision == "int8" or quantise.saturates():
        return precision
    return "q8w"


def weight_only_8bit(model: Any, block: int = 128) -> Any:
    """Each MatMul of a constant weight [K, N] as ONNX Runtime's MatMulNBits: 8-bit weights stored as
    [N, K / block, block] (value + 128, zero point 128), one scale per block (its largest magnitude / 127).
    accuracy_level 4 lets the kernel compute in int8 with per-block activation scales where the CPU can.
    A weight whose K is not a multiple of `block`, and the fused Attention's weights, stay fp32."""
    from onnx import helper, numpy_helper

    weights = {init.name: init for init in model.graph.initializer}
    nodes, dropped = [], set()
    for node in model.graph.node:
        source = weights.get(node.input[1]) if node.op_type == "MatMul" and len(node.input) == 2 else None
        w = numpy_helper.to_array(source).astype(np.float32) if source is not None else None
        if w is None or w.ndim != 2 or w.shape[0] % block:
            nodes.append(node)
            continue
        k, n = w.shape
        blocks = w.T.reshape(n, k // block, block)
        scale = np.abs(blocks).max(axis=2) / 127
        scale[scale == 0] = 1.0
        packed = (np.clip(np.rint(blocks / scale[..., None]), -127, 127) + 128).astype(np.uint8)
        name = node.input[1]
        model.graph.initializer.extend(
            [numpy_helper.from_array(packed, f"{name}.q8"), numpy_helper.from_array(scale.astype(np.float32), f"{name}.scales")]
        )
        nodes.append(
            helper.make_node(
                "MatMulNBits", [node.input[0], f"{name}.q8", f"{name}.scales"], list(node.output), name=node.name,
                domain=MS, K=k, N=n, bits=8, block_size=block, accuracy_level=4,
            )
        )
        dropped.add(name)
    kept = [init for init in model.graph.initializer if init.name not in dropped]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model


def graph_file(model_dir: Path, precision: Graph, cache_dir: Path) -> Path:
    """The cached ONNX file for `model_dir` at `precision`, built (and quantised) on first use, its weights
    in a `.data` file beside it. Written to temporary names and renamed, the graph last, so a killed
    build never leaves a graph without its weights."""
    memo, stamp = _hash_memo(model_dir, cache_dir)
    remembered = _remembered(memo, stamp)
    digest = remembered or weights_hash(model_dir)
    # int8 weights are 7-bit where this CPU's int8 kernel saturates: a file per kind, so a models folder
    # shared by two machines never hands one the other's.
    reduced = precision == "int8" and quantise.saturates()
    target = cache_dir / f"{model_dir.name}-{digest}-g{GRAPH_VERSION}-{precision}{'-7bit' if reduced else ''}.onnx"
    if not target.exists():
        _build(model_dir, precision, target, reduced)
        _forget_older(cache_dir, f"{model_dir.name}-{digest}-g")
    if remembered is None:
        _remember(memo, stamp, digest)
    return target


def _build(model_dir: Path, precision: Graph, target: Path, reduced: bool = False) -> None:
    import onnx

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        graph = build_graph(model_dir)
        if precision == "int8":
            graph = quantise.int8_graph(graph, _calibration(model_dir), Path(work), reduced)
        elif precision == "q8w":
            graph = weight_only_8bit(graph)
        # The weights in a file of their own: ONNX Runtime maps it instead of parsing them out of the
        # graph's protobuf, and a session opened in 0.05-0.08 s instead of 0.15-0.19 s (MiniLM fp32, the
        # same outputs bit for bit).
        data = f"{target.name}.data"
        onnx.save_model(
            graph, str(Path(work) / "graph.onnx"), save_as_external_data=True, all_tensors_to_one_file=True, location=data
        )
        saved = Path(work) / "graph.onnx"
        os.chmod(Path(work) / data, saved.stat().st_mode & 0o777)  # onnx writes it owner-only
        os.replace(Path(work) / data, target.with_name(data))
        os.replace(saved, target)


def _forget_older(cache_dir: Path, prefix: str) -> None:
    """Remove this model's graphs of earlier GRAPH_VERSIONs (90 MB each at fp32): each upgrade built new ones
    beside the old, which nothing reads again. A process still running an old one keeps its open file."""
    for old in cache_dir.glob(f"{prefix}*.onnx*"):
        version = old.name[len(prefix) :].split("-", 1)[0]
        if version != GRAPH_VERSION and version.isdigit():
            old.unlink(missing_ok=True)


def _calibration(model_dir: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """The calibration texts as (ids, mask) batches of one text each, cut at the model's 256-word-piece window."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=256)
    tokenizer.no_padding()
    ids = [np.array([found.ids], np.int64) for found in tokenizer.encode_batch(quantise.calibration_texts())]
    return [(row, np.ones_like(row)) for row in ids]


class OnnxEncoder:
    """Token ids and attention mask in, last hidden states out; one session per thread count."""

    def __init__(self, model_file: Path) -> None:
        self.model_file = model_file
        self._sessions: dict[int, Any] = {}

    def session(self, threads: int) -> Any:
        if threads not in self._sessions:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3  # no warnings about unused initialisers on every start
            self._sessions[threads] = ort.InferenceSession(str(self.model_file), options, providers=["CPUExecutionProvider"])
        return self._sessions[threads]

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray, threads: int = 0) -> np.ndarray:
        feed = {"input_ids": input_ids.astype(np.int64), "attention_mask": attention_mask.astype(np.int64)}
        return self.session(threads).run(["last_hidden_state"], feed)[0]
