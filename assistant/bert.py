"""A BERT encoder in plain torch for the default MiniLM: last hidden states from token ids.

Why not transformers' BertModel: importing transformers' modelling code took 3-4 s of a 9-11 s cold
`assistant ask` (benchmarks/RESULTS.md), more than torch itself, for a forward pass that is a dozen
tensor operations. This reads the same safetensors weights and computes the same states (equal to
transformers' to 1e-6, tests/test_embedder.py). Only the plain BERT variant is handled (absolute
positions, exact GELU, post-layer-norm); any other model goes through transformers.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch.nn import functional as F

SUPPORTED = {"model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "absolute"}


def supports(model_dir: Path) -> bool:
    """Whether `model_dir` holds a plain BERT this encoder reproduces exactly."""
    try:
        config = json.loads((model_dir / "config.json").read_text())
    except (OSError, ValueError):
        return False
    defaults = {"position_embedding_type": "absolute"}
    return (model_dir / "model.safetensors").exists() and all(
        config.get(key, defaults.get(key)) == value for key, value in SUPPORTED.items()
    )


class BertEncoder:
    """Token ids and attention mask in, last hidden states out (inference only)."""

    def __init__(self, model_dir: Path) -> None:
        from safetensors.torch import load_file

        config = json.loads((model_dir / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        weights = load_file(str(model_dir / "model.safetensors"))
        # Some checkpoints prefix every name with "bert."; the encoder reads them without it.
        self.w: dict[str, torch.Tensor] = {name.removeprefix("bert."): tensor.float() for name, tensor in weights.items()}

    def _norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.layer_norm(x, x.shape[-1:], self.w[f"{name}.weight"], self.w[f"{name}.bias"], self.eps)

    def _dense(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.linear(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"])

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        batch, length = input_ids.shape
        w = self.w
        x = w["embeddings.word_embeddings.weight"][input_ids]
        x = x + w["embeddings.position_embeddings.weight"][:length] + w["embeddings.token_type_embeddings.weight"][0]
        x = self._norm(x, "embeddings.LayerNorm")
        keep = attention_mask.bool()[:, None, None, :]  # every query attends to the real tokens only
        for i in range(self.layers):
            at = f"encoder.layer.{i}"
            q, k, v = (
                self._dense(x, f"{at}.attention.self.{part}").view(batch, length, self.heads, -1).transpose(1, 2)
                for part in ("query", "key", "value")
            )
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=keep).transpose(1, 2).reshape(batch, length, -1)
            x = self._norm(self._dense(context, f"{at}.attention.output.dense") + x, f"{at}.attention.output.LayerNorm")
            hidden = F.gelu(self._dense(x, f"{at}.intermediate.dense"))
            x = self._norm(self._dense(hidden, f"{at}.output.dense") + x, f"{at}.output.LayerNorm")
        return x
