"""Dynamic batching: many callers submit single items, one worker thread runs them in batches.

Pure Python, no torch: the engine gives it a `run_batch(key, payloads) -> results` function.
Items with different keys (decoding options) never share a batch; within a key, items are
sorted by their size hint (expected output length) so short lines do not wait on long ones.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("trocr_plugin")

_STOP = object()


@dataclass(order=True)
class _Job:
    size_hint: float
    seq: int
    key: Hashable = field(compare=False)
    payload: Any = field(compare=False)
    future: Future = field(compare=False)


class DynamicBatcher:
    """A queue and a worker thread that forms batches of up to max_batch_size items.

    The worker waits at most max_wait_s after the first item for more to arrive, so a lone
    caller is not delayed for long and a busy engine fills its batches.
    """

    def __init__(
        self,
        run_batch: Callable[[Hashable, list[Any]], Sequence[Any]],
        max_batch_size: int = 16,
        max_wait_s: float = 0.005,
        name: str = "trocr-engine",
    ):
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {max_batch_size}")
        if max_wait_s < 0:
            raise ValueError(f"max_wait_s must be >= 0, got {max_wait_s}")
        self.run_batch = run_batch
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_s
        self.name = name
        self._queue: queue.Queue = queue.Queue()
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.batches_run = 0  # counters for tests and benchmarks
        self.items_run = 0

    def submit(self, payload: Any, key: Hashable = None, size_hint: float = 0.0) -> Future:
        return self.submit_many([(payload, size_hint)], key)[0]

    def submit_many(self, items: Sequence[tuple[Any, float]], key: Hashable = None) -> list[Future]:
        """Queue (payload, size_hint) pairs; the futures come back in the same order."""
        futures: list[Future] = []
        jobs = []
        for payload, size_hint in items:
            fut: Future = Future()
            futures.append(fut)
            jobs.append(_Job(float(size_hint), next(self._seq), key, payload, fut))
        # Queue a caller's items shortest first: the worker's window then holds similar lengths.
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.name} is closed")
            self._ensure_worker()
            for job in sorted(jobs):
                self._queue.put(job)
        return futures

    def close(self, timeout: float | None = 10.0) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            self._queue.put(_STOP)
        if thread is not None:
            thread.join(timeout)

    def _ensure_worker(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            pending, stop = self._gather(first)
            self._run(pending)
            if stop:
                self._fail_queued()
                return

    def _gather(self, first: _Job) -> tuple[list[_Job], bool]:
        """Collect items until a full batch is there and the queue is empty, or the wait is over.

        The window reaches a few batches beyond the first so that length sorting has choice.
        """
        pending = [first]
        deadline = time.monotonic() + self.max_wait_s
        window = self.max_batch_size * 4
        while len(pending) < window:
            remaining = deadline - time.monotonic()
            try:
                if len(pending) >= self.max_batch_size or remaining <= 0:
                    job = self._queue.get_nowait()
                else:
                    job = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
            if job is _STOP:
                return pending, True
            pending.append(job)
        return pending, False

    def _run(self, pending: list[_Job]) -> None:
        groups: dict[Hashable, list[_Job]] = {}
        for job in pending:
            groups.setdefault(job.key, []).append(job)
        for key, jobs in groups.items():
            jobs.sort()
            for start in range(0, len(jobs), self.max_batch_size):
                chunk = [j for j in jobs[start : start + self.max_batch_size]
                         if j.future.set_running_or_notify_cancel()]
                if chunk:
                    self._run_chunk(key, chunk)

    def _run_chunk(self, key: Hashable, chunk: list[_Job]) -> None:
        try:
            results = self.run_batch(key, [j.payload for j in chunk])
            if len(results) != len(chunk):
                raise RuntimeError(f"batch of {len(chunk)} gave {len(results)} results")
        except BaseException as err:  # every caller of the batch learns of the failure
            log.debug("batch of %d failed: %s", len(chunk), err)
            for job in chunk:
                job.future.set_exception(err)
            if not isinstance(err, Exception):
                raise
            return
        self.batches_run += 1
        self.items_run += len(chunk)
        for job, result in zip(chunk, results, strict=True):
            job.future.set_result(result)

    def _fail_queued(self) -> None:
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not _STOP and job.future.set_running_or_notify_cancel():
                job.future.set_exception(RuntimeError(f"{self.name} was closed"))
