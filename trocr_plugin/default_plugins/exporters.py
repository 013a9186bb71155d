"""Built-in exporters: JSON (pages with their lines) and plain text."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TextIO

from ..hookspecs import hookimpl
from ..types import PageResult


def export_json(pages: Sequence[PageResult], stream: TextIO) -> None:
    json.dump({"pages": [page.to_dict() for page in pages]}, stream, ensure_ascii=False, indent=2)
    stream.write("\n")


def export_text(pages: Sequence[PageResult], stream: TextIO) -> None:
    for i, page in enumerate(pages):
        if i:
            stream.write("\f\n")  # form feed between pages, as pdftotext does
        for line in page.lines:
            stream.write(line.recognition.text + "\n")


@hookimpl
def register_exporters(register):
    register("json", export_json, suffix=".json")
    register("text", export_text, suffix=".txt")
