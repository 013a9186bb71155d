"""The pipeline: document -> pages -> regions -> lines -> recognitions, every stage a plugin.

All lines of a document are read through their kind's handler in one call per kind, so the
engine batches them across regions and pages.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from .errors import InputError, PluginError
from .images import ImageInput, describe
from .plugins import get_registry
from .types import Page, PageResult, ReadLine, failed


def load_pages(document: ImageInput, loader: str | None = None, **options: Any) -> list[Page]:
    """The pages of a document, through the loader named or the one registered for its suffix."""
    registry = get_registry()
    if loader is None:
        loader = "image"
        if isinstance(document, str | os.PathLike):
            suffix = Path(document).suffix.lower()
            for entry in registry.entries("page_loader"):
                if suffix in entry.options.get("suffixes", ()):
                    loader = entry.name
                    break
    return list(registry.get("page_loader", loader)(document, **options))


def read(
    document: ImageInput,
    *,
    layout: str = "whole-page",
    segmenter: str = "single-line",
    loader: str | None = None,
    handler_options: dict[str, Any] | None = None,
) -> list[PageResult]:
    """Read a document with the named plugins; returns its pages with their lines."""
    registry = get_registry()
    detect = registry.get("layout_detector", layout)
    segment = registry.get("line_segmenter", segmenter)
    name = describe(document)
    try:
        pages = load_pages(document, loader, name=name)
    except InputError as err:
        return [PageResult(name, 1, 0, 0, error=str(err))]
    results = []
    pending: dict[str, list[tuple[ReadLine, Any]]] = {}
    for page in pages:
        result = PageResult(page.source, page.page_number, *page.image.size)
        for region in detect(page):
            for line in segment(page, region):
                read_line = ReadLine(line, failed(None, "not read", ""))
                crop = page.image.crop(tuple(round(v) for v in line.bbox))
                result.lines.append(read_line)
                pending.setdefault(line.kind, []).append((read_line, crop))
        results.append(result)
    for kind, items in pending.items():
        _recognize_kind(registry, kind, items, handler_options or {})
    return results


def _recognize_kind(registry, kind: str, items, options: dict[str, Any]) -> None:
    try:
        handler = registry.get("element_handler", kind)
    except PluginError as err:
        for read_line, _ in items:
            read_line.recognition = failed(None, err, "", engine="none")
        return
    recognitions = handler.recognize([crop for _, crop in items], **options)
    for (read_line, _), recognition in zip(items, recognitions, strict=True):
        read_line.recognition = recognition


def export(pages: Sequence[PageResult], fmt: str, stream: TextIO) -> None:
    get_registry().get("exporter", fmt)(pages, stream)
