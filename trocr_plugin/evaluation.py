"""Evaluation on a manifest of line images and their transcriptions: CER, WER, confidence, speed."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jiwer

from .errors import InputError
from .types import Recognition


@dataclass(frozen=True)
class ManifestEntry:
    image: Path
    text: str
    line_number: int


def read_manifest(path: str | Path) -> list[ManifestEntry]:
    """A TSV of `image<TAB>text`; image paths are relative to the manifest's folder.

    Blank lines and lines starting with '#' are skipped; the text is everything after the
    first tab, so it may itself hold tabs.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "manifest file not found")
    entries = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        if "\t" not in raw:
            raise InputError(f"{path}:{number}", "expected `image<TAB>text`, found no tab")
        image, text = raw.split("\t", 1)
        if not image.strip():
            raise InputError(f"{path}:{number}", "empty image path")
        if not text.strip():
            raise InputError(f"{path}:{number}", f"empty transcription for {image}")
        entries.append(ManifestEntry(path.parent / image.strip(), text.strip(), number))
    if not entries:
        raise InputError(str(path), "manifest holds no lines")
    return entries


def evaluate(
    entries: Sequence[ManifestEntry],
    recognize: Callable[[list[Path]], list[Recognition]],
    chunk_size: int = 64,
    progress: Callable[[int], Any] | None = None,
) -> tuple[dict[str, Any], list[Recognition]]:
    """Read every line and score it. A line that could not be read counts as read empty."""
    recognitions: list[Recognition] = []
    started = time.perf_counter()
    for start in range(0, len(entries), chunk_size):
        chunk = [e.image for e in entries[start : start + chunk_size]]
        recognitions.extend(recognize(chunk))
        if progress:
            progress(len(chunk))
    seconds = time.perf_counter() - started
    references = [e.text for e in entries]
    hypotheses = [r.text for r in recognitions]
    confidences = [r.confidence for r in recognitions if r.confidence is not None]
    exact = sum(ref == hyp for ref, hyp in zip(references, hypotheses, strict=True))
    report = {
        "lines": len(entries),
        "errors": sum(not r.ok for r in recognitions),
        "cer": jiwer.cer(references, hypotheses),
        "wer": jiwer.wer(references, hypotheses),
        "line_accuracy": exact / len(entries),
        "mean_confidence": sum(confidences) / len(confidences) if confidences else None,
        "seconds": round(seconds, 3),
        "lines_per_second": round(len(entries) / seconds, 3) if seconds > 0 else None,
    }
    return report, recognitions
