"""embed with onnxruntime: the same model exported to ONNX once, its weights quantised to
int8 per channel, run without torch at inference: more texts per second than the torch
model on these CPUs (FIGURES.md, throughput), at cosine >= 0.98 to its vectors and the same
story figures. Activations are quantised per run, so each text runs alone: its vector does
not depend on what else is embedded. The export runs offline from the installed model in a
few seconds and is cached under the data directory.

Texts run side by side on a pool of threads, one per core, each run on one intra-op
thread: onnxruntime releases the GIL, and on short inputs whole texts in parallel keep the
cores busier than one run split across them, and no idle pool spins (FIGURES.md,
throughput). A run's result does not depend on its thread count, so a vector is the same
bits whichever way it was made (tests/test_embedder.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from service.embedder import ModelError, SentenceTransformerEmbedder, model_path

log = logging.getLogger(__name__)

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _export(torch_model: Any, target: Path) -> None:
    """Write ``target``: the transformer as ONNX, weights dynamically quantised to int8."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    transformer = torch_model[0].auto_model.eval()

    class Hidden(torch.nn.Module):
        """The transformer's last hidden state, from positional inputs (as ONNX feeds them)."""

        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            out = self.transformer(input_ids=ids, attention_mask=mask, token_type_ids=types)
            return out.last_hidden_state

    sample = torch_model.tokenizer(
        ["an example", "another example text"], padding=True, return_tensors="pt"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    plain = target.with_name(f"model-fp32-{os.getpid()}.onnx")
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")  # the tracer's notes on shapes it fixes as constants
        _trace(Hidden().eval(), sample, plain)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    logging.disable(logging.WARNING)  # its advice to pre-process applies to vision models
    try:
        quantize_dynamic(str(plain), str(partial), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        logging.disable(logging.NOTSET)
    partial.replace(target)
    plain.unlink(missing_ok=True)


def _trace(module: Any, sample: Any, plain: Path) -> None:
    import torch

    torch.onnx.export(
        module,
        tuple(sample[name] for name in INPUTS),
        str(plain),
        input_names=list(INPUTS),
        output_names=["hidden"],
        dynamic_axes={name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "hidden")},
        opset_version=17,
        dynamo=False,
    )


def _cores() -> int:
    """The cores this process may run on (all of them where the OS cannot say)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


class OnnxEmbedder:
    """Mean-pooled, normalised sentence vectors from the int8 ONNX export of the model."""

    def __init__(self, model: str, batch_size: int, cache: Path) -> None:
        import onnxruntime

        path = model_path(model)
        reference = SentenceTransformerEmbedder(model, batch_size)
        torch_model = reference.model
        if getattr(torch_model[1], "pooling_mode", None) != "mean":
            raise ModelError(
                f"model '{model}' does not mean-pool; set NEWSDEDUP_BACKEND=torch for it"
            )
        digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
        target = cache / f"{digest}-int8" / "model.onnx"
        if not target.exists():
            log.info("exporting the model to ONNX int8", extra={"target": str(target)})
            _export(torch_model, target)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(target), options, providers=["CPUExecutionProvider"]
        )
        self._threads = _cores()
        self._tokenizer = torch_model.tokenizer
        self._max_tokens = int(torch_model.max_seq_length)
        self._batch_size = batch_size
        self.name = model
        self.dim = reference.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One text per run: activations are quantised per run, so a text embedded alone
        gets the same vector whatever else is being embedded (the reindex reuses stored
        vectors bit for bit), and no run pads a short text to a long one (on these CPUs
        one by one is faster than batches of 32 that pad)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        feeds = [self._encode(text) for text in texts]  # the tokenizer is not thread-safe
        if len(feeds) <= 1 or self._threads == 1:
            for row, feed in enumerate(feeds):
                out[row] = self._run(feed)
            return out
        with ThreadPoolExecutor(min(self._threads, len(feeds))) as pool:
            for row, vector in enumerate(pool.map(self._run, feeds)):
                out[row] = vector
        return out

    def _encode(self, text: str) -> dict[str, np.ndarray]:
        encoded = self._tokenizer(
            [text], truncation=True, max_length=self._max_tokens, return_tensors="np"
        )
        return {name: np.asarray(encoded[name], dtype=np.int64) for name in INPUTS}

    def _run(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        pooled = self._session.run(None, feed)[0][0].mean(axis=0)
        return pooled / max(float(np.linalg.norm(pooled)), 1e-12)
