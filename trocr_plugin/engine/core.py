"""The shared inference engine: one per (model, device, dtype, backend) per process.

Callers in any thread hand it line images; the engine preprocesses them in the caller's
thread (so preprocessing overlaps with inference), queues them, and one worker thread runs
them in dynamic batches. Each caller gets its own results, in its own order. A line that
cannot be read comes back as a Recognition with its error, never as a gap.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future

from ..config import resolve_model
from ..images import ImageInput, ImageLimits, describe, load_image
from ..types import Alternative, Recognition, TokenScore, failed
from .batching import DynamicBatcher
from .model import Decoded, DecodeOptions, TrOCRRunner, load_model, select_device, select_dtype

log = logging.getLogger("trocr_plugin")

BACKENDS = ("torch",)
ENGINE_NAME = "trocr"


class Engine:
    """A loaded TrOCR model behind a dynamic-batching queue. Use get_engine() to share one."""

    def __init__(
        self,
        model: str | None = None,
        device: str | None = None,
        dtype: str | None = None,
        backend: str = "torch",
        max_batch_size: int = 16,
        max_wait_ms: float = 5.0,
    ):
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; available: {', '.join(BACKENDS)}")
        self.model_id = resolve_model(model)
        self.device = select_device(device)
        self.dtype = select_dtype(dtype, self.device)
        self.backend = backend
        started = time.perf_counter()
        net, processor, tokenizer = load_model(self.model_id, self.device, self.dtype)
        self.runner = TrOCRRunner(net, processor, tokenizer, self.device, self.dtype)
        self.load_seconds = time.perf_counter() - started
        self._batcher = DynamicBatcher(
            self._run_batch, max_batch_size, max_wait_ms / 1000.0, name=f"trocr-engine:{self.model_id}"
        )
        log.info("loaded %s on %s (%s) in %.1fs", self.model_id, self.device, self.dtype,
                 self.load_seconds)

    # -- settings ---------------------------------------------------------------------------

    @property
    def max_batch_size(self) -> int:
        return self._batcher.max_batch_size

    @max_batch_size.setter
    def max_batch_size(self, value: int) -> None:
        if value < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {value}")
        self._batcher.max_batch_size = value

    @property
    def stats(self) -> dict[str, int]:
        return {"batches": self._batcher.batches_run, "lines": self._batcher.items_run}

    # -- recognition ------------------------------------------------------------------------

    def submit(
        self,
        images: Sequence[ImageInput],
        options: DecodeOptions | None = None,
        names: Sequence[str] | None = None,
        limits: ImageLimits | None = None,
    ) -> list[Future]:
        """Queue line images; returns one future per image, each resolving to a Recognition."""
        options = options or DecodeOptions()
        limits = limits or ImageLimits.from_env()
        if names is not None and len(names) != len(images):
            raise ValueError(f"{len(names)} names given for {len(images)} images")
        futures: list[Future | None] = [None] * len(images)
        queued: list[tuple[int, str]] = []  # (position, name) of each image sent to the worker
        items = []
        for i, image in enumerate(images):
            name = names[i] if names is not None else describe(image, i)
            try:
                rgb = load_image(image, name, limits)
                pixels = self.runner.preprocess(rgb)
            except Exception as err:  # bad input: this line fails, the others go on
                done: Future = Future()
                done.set_result(failed(name, err, self.model_id))
                futures[i] = done
                continue
            # Wider lines hold more text: the aspect ratio predicts the output length.
            items.append((pixels, rgb.width / max(rgb.height, 1)))
            queued.append((i, name))
        for (i, name), inner in zip(queued, self._batcher.submit_many(items, options), strict=True):
            futures[i] = _chain(inner, lambda decoded, n=name: self._to_recognition(decoded, n),
                                name, self.model_id)
        return futures  # type: ignore[return-value]

    def recognize(
        self,
        images: Sequence[ImageInput],
        options: DecodeOptions | None = None,
        names: Sequence[str] | None = None,
        limits: ImageLimits | None = None,
    ) -> list[Recognition]:
        """Read line images; blocks until all are done. One Recognition per image, in order.

        Images are decoded and queued a chunk at a time, one chunk ahead of the results, so
        a long list never holds more than two chunks of pixels in memory.
        """
        chunk = max(64, 4 * self.max_batch_size)
        results: list[Recognition] = []
        in_flight: list[Future] = []
        for start in range(0, len(images), chunk):
            part_names = names[start : start + chunk] if names is not None else None
            if names is None:
                part_names = [describe(img, start + i)
                              for i, img in enumerate(images[start : start + chunk])]
            queued = self.submit(images[start : start + chunk], options, part_names, limits)
            results.extend(f.result() for f in in_flight)
            in_flight = queued
        results.extend(f.result() for f in in_flight)
        return results

    def embed(self, images: Sequence[ImageInput], names: Sequence[str] | None = None):
        """The encoder's pooled, L2-normalised embedding of each line (None where unreadable)."""
        options = DecodeOptions(max_new_tokens=1, return_tokens=False, return_embedding=True)
        return [r.embedding for r in self.recognize(images, options, names)]

    def close(self) -> None:
        self._batcher.close()

    def _run_batch(self, options: DecodeOptions, payloads: list) -> list[tuple[Decoded, DecodeOptions]]:
        decoded = self.runner.run(payloads, options)
        return [(d, options) for d in decoded]

    def _to_recognition(self, result: tuple[Decoded, DecodeOptions], name: str) -> Recognition:
        decoded, options = result
        tok = self.runner.tokenizer
        tokens = []
        if options.return_tokens:
            tokens = [
                TokenScore(tok.decode([t]) if t != self.runner.eos_id else tok.convert_ids_to_tokens(t),
                           t, _prob(lp))
                for t, lp in zip(decoded.token_ids, decoded.token_logprobs, strict=True)
            ]
        alternatives = [
            Alternative(tok.decode(ids, skip_special_tokens=True).strip(), score, _mean_prob(lps))
            for ids, score, lps in decoded.alternatives
        ]
        return Recognition(
            text=tok.decode(decoded.token_ids, skip_special_tokens=True).strip(),
            confidence=_mean_prob(decoded.token_logprobs),
            model=self.model_id,
            engine=ENGINE_NAME,
            source=name,
            tokens=tokens,
            alternatives=alternatives,
            embedding=decoded.embedding,
        )


def _prob(logprob: float) -> float:
    return min(1.0, max(0.0, math.exp(logprob)))


def _mean_prob(logprobs: Sequence[float]) -> float | None:
    """Line confidence: exp(mean token log-prob), the geometric mean of token probabilities."""
    if not logprobs:
        return None
    return _prob(sum(logprobs) / len(logprobs))


def _chain(inner: Future, convert, name: str, model: str) -> Future:
    """A future that converts the worker's result, or records the worker's error for this line."""
    outer: Future = Future()

    def done(f: Future) -> None:
        try:
            outer.set_result(convert(f.result()))
        except Exception as err:  # a failed batch: each of its lines carries the error
            outer.set_result(failed(name, f"recognition failed: {err}", model))

    inner.add_done_callback(done)
    return outer


# -- the engine registry: one engine per (model, device, dtype, backend) per process -------

_engines: dict[tuple[str, str, str, str], Engine] = {}
_engines_lock = threading.Lock()


def get_engine(
    model: str | None = None,
    device: str | None = None,
    dtype: str | None = None,
    backend: str = "torch",
    max_batch_size: int | None = None,
    max_wait_ms: float | None = None,
) -> Engine:
    """The process's shared engine for these settings, loaded on first use."""
    model_id = resolve_model(model)
    if os.path.isdir(model_id):  # one engine for a directory, however the caller spelled it
        model_id = os.path.abspath(model_id)
    resolved_device = select_device(device)
    key = (model_id, resolved_device, select_dtype(dtype, resolved_device), backend)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            kwargs = {}
            if max_batch_size is not None:
                kwargs["max_batch_size"] = max_batch_size
            if max_wait_ms is not None:
                kwargs["max_wait_ms"] = max_wait_ms
            engine = Engine(model_id, resolved_device, key[2], backend, **kwargs)
            _engines[key] = engine
        elif max_batch_size is not None:
            engine.max_batch_size = max_batch_size
    return engine


def clear_engines() -> None:
    """Close and forget every engine (tests; or to free memory)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.close()
        _engines.clear()


def _forget_after_fork() -> None:
    # A forked child has the engines' memory but not their worker threads: start afresh.
    global _engines_lock
    _engines.clear()
    _engines_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
