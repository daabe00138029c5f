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
import json
import logging
import os
import subprocess
import sys
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from service.embedder import ModelError, SentenceTransformerEmbedder, model_path
from service.machine import cores

log = logging.getLogger(__name__)

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
EXPORT = "int8-v2"  # the export's layout; a new one is written beside a cached older one


def _export(torch_model: Any, target: Path) -> None:
    """Write ``target``: the transformer as ONNX, weights dynamically quantised to int8.

    Traced with plain (eager) attention and no attention mask: a text runs alone, so every
    token is attended and the mask is all ones, and the fused attention's export guards
    against fully masked rows with a select over every score (14% of a run; without it and
    the mask's add, 1.3x the texts per second at the same vectors to 1e-2)."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    transformer = torch_model[0].auto_model.eval()

    class Hidden(torch.nn.Module):
        """The transformer's last hidden state, from positional inputs (as ONNX feeds them)."""

        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, ids: Any, types: Any) -> Any:
            return self.transformer(input_ids=ids, token_type_ids=types).last_hidden_state

    sample = torch_model.tokenizer(
        ["an example", "another example text"], padding=True, return_tensors="pt"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    plain = target.with_name(f"model-fp32-{os.getpid()}.onnx")
    attention = transformer.config._attn_implementation
    transformer.set_attn_implementation("eager")
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")  # the tracer's notes on shapes it fixes as constants
            _trace(Hidden().eval(), sample, plain)
    finally:
        transformer.set_attn_implementation(attention)
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

    fed = ("input_ids", "token_type_ids")
    torch.onnx.export(
        module,
        tuple(sample[name] for name in fed),
        str(plain),
        input_names=list(fed),
        output_names=["hidden"],
        dynamic_axes={name: {0: "batch", 1: "tokens"} for name in (*fed, "hidden")},
        opset_version=17,
        dynamo=False,
    )


def _export_apart(model: str, batch_size: int, target: Path) -> None:
    """The export in a child process: the server that asked for it never imports torch, so
    its first start holds what every later one does (about half the memory; FIGURES)."""
    done = subprocess.run(
        [sys.executable, "-m", "service.onnx_embedder", model, str(batch_size), str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not target.exists():
        raise ModelError(f"exporting '{model}' to ONNX failed: {done.stderr.strip()[-2000:]}")


@dataclass(frozen=True)
class Layout:
    """What the ONNX path reads from a saved sentence-transformers folder: the fast
    tokenizer's file, the token limit, the vector width, and whether texts are lower-cased
    before tokenizing (``do_lower_case``, as sentence-transformers does)."""

    tokenizer: Path
    max_tokens: int
    dim: int
    lower: bool = False


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def read_layout(path: Path) -> Layout | None:
    """The layout of a Transformer -> mean Pooling (-> Normalize) folder with a fast
    tokenizer and a stated token limit, from its files alone; None for any other folder
    (its torch model is read instead). A folder that pools otherwise is refused."""
    try:
        modules = _json(path / "modules.json")
        kinds = [str(m["type"]).rsplit(".", 1)[-1] for m in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            return None
        pooling = _json(path / modules[1]["path"] / "config.json")
        base = path / modules[0]["path"]
        stated = _json(base / "sentence_bert_config.json")
        limit, lower = stated.get("max_seq_length"), bool(stated.get("do_lower_case", False))
        tokenizer = base / "tokenizer.json"
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None
    modes = [k for k, on in pooling.items() if k.startswith("pooling_mode") and on]
    if modes != ["pooling_mode_mean_tokens"]:
        raise ModelError(f"model at {path} does not mean-pool; set NEWSDEDUP_BACKEND=torch")
    if not isinstance(limit, int) or not tokenizer.is_file():
        return None
    return Layout(tokenizer, limit, int(pooling["word_embedding_dimension"]), lower)


class _FastTokenizer:
    """The model's fast tokenizer without transformers or torch: the same ids, masks and
    type ids as its transformers wrapper called with truncation at ``max_tokens``."""

    def __init__(self, layout: Layout) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(layout.tokenizer))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(layout.max_tokens)
        self._lower = layout.lower

    def __call__(self, text: str) -> dict[str, np.ndarray]:
        encoded = self._tokenizer.encode(text.lower() if self._lower else text)
        rows = (encoded.ids, encoded.attention_mask, encoded.type_ids)
        return {
            name: np.array([row], dtype=np.int64) for name, row in zip(INPUTS, rows, strict=True)
        }


class _TorchTokenizer:
    """The tokenizer of the loaded torch model, for folders ``read_layout`` cannot read."""

    def __init__(self, torch_model: Any) -> None:
        self._tokenizer = torch_model.tokenizer
        self._max_tokens = int(torch_model.max_seq_length)
        self._lower = bool(getattr(torch_model[0], "do_lower_case", False))

    def __call__(self, text: str) -> dict[str, np.ndarray]:
        encoded = self._tokenizer(
            [text.lower() if self._lower else text],
            truncation=True,
            max_length=self._max_tokens,
            return_tensors="np",
        )
        return {name: np.asarray(encoded[name], dtype=np.int64) for name in INPUTS}


def _session(target: Path, threads: int) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(target), options, providers=["CPUExecutionProvider"])


class OnnxEmbedder:
    """Mean-pooled, normalised sentence vectors from the int8 ONNX export of the model.

    torch is loaded only to export the model once, in a child process for a folder whose
    layout it reads; afterwards the export and the fast tokenizer's file are all a start
    reads (no torch import, no progress bars)."""

    def __init__(self, model: str, batch_size: int, cache: Path) -> None:
        path = model_path(model)
        layout = read_layout(path)
        digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
        target = cache / f"{digest}-{EXPORT}" / "model.onnx"
        reference: SentenceTransformerEmbedder | None = None
        if layout is None:  # its tokenizer is torch's: the model is loaded here anyway
            reference = SentenceTransformerEmbedder(model, batch_size)
            # read_layout checked the pooling of a folder it reads; torch checks the rest
            if getattr(reference.model[1], "pooling_mode", None) != "mean":
                raise ModelError(
                    f"model '{model}' does not mean-pool; set NEWSDEDUP_BACKEND=torch for it"
                )
        if not target.exists():
            log.info("exporting the model to ONNX int8", extra={"target": str(target)})
            if reference is None:
                _export_apart(model, batch_size, target)
            else:
                _export(reference.model, target)
        encode: _FastTokenizer | _TorchTokenizer
        if layout is not None:
            encode, dim = _FastTokenizer(layout), layout.dim
        else:
            assert reference is not None  # loaded above for a folder read_layout cannot read
            encode, dim = _TorchTokenizer(reference.model), reference.dim
        self._threads = cores()
        self._session = _session(target, 1)
        # one text alone (a live ingest, a match) splits its matrix products over the cores;
        # the threads sleep between runs, so a busy machine runs it as fast as one thread
        self._alone = _session(target, self._threads) if self._threads > 1 else self._session
        self._inputs = frozenset(node.name for node in self._session.get_inputs())
        self._encode = encode
        self._batch_size = batch_size
        self.name = model
        self.dim = dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One text per run: activations are quantised per run, so a text embedded alone
        gets the same vector whatever else is being embedded (the reindex reuses stored
        vectors bit for bit), and no run pads a short text to a long one (on these CPUs
        one by one is faster than batches of 32 that pad)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if len(texts) <= 1 or self._threads == 1:
            for row, text in enumerate(texts):
                out[row] = self._run(self._encode(text), self._alone)
            return out
        with ThreadPoolExecutor(min(self._threads, len(texts))) as pool:
            # tokenized here, one by one (the tokenizer is not thread-safe), while the
            # texts before run: no core waits for the whole batch to be tokenized
            runs = [pool.submit(self._run, self._encode(text), self._session) for text in texts]
            for row, run in enumerate(runs):
                out[row] = run.result()
        return out

    def _run(self, feed: dict[str, np.ndarray], session: Any) -> np.ndarray:
        """One text's vector: the same bits from either session (tested), so a vector does
        not depend on how many texts were embedded beside it."""
        fed = {name: row for name, row in feed.items() if name in self._inputs}
        pooled = session.run(None, fed)[0][0].mean(axis=0)
        return pooled / max(float(np.linalg.norm(pooled)), 1e-12)


if __name__ == "__main__":  # the export's child process (``_export_apart``)
    _export(SentenceTransformerEmbedder(sys.argv[1], int(sys.argv[2])).model, Path(sys.argv[3]))
