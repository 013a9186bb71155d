"""The plain data types that flow through the pipeline: Page -> Region -> Line -> Recognition.

Coordinates are pixels of the page image, (x0, y0, x1, y1), top-left origin, as
unstructured's PixelSpace.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from PIL import Image

BBox = tuple[float, float, float, float]


@dataclass
class Page:
    """One page image of a document. page_number counts from 1."""

    image: Image.Image
    page_number: int = 1
    source: str = "<image>"
    dpi: float | None = None


@dataclass
class Region:
    """A block of a page found by a layout detector, with its kind ("handwritten", "printed", ...)."""

    bbox: BBox
    kind: str
    kind_probability: float = 1.0
    polygon: list[tuple[float, float]] | None = None


@dataclass
class Line:
    """One text line inside a region, in reading order."""

    bbox: BBox
    kind: str
    kind_probability: float = 1.0
    polygon: list[tuple[float, float]] | None = None
    baseline: list[tuple[float, float]] | None = None


@dataclass
class TokenScore:
    """One generated token and the probability the decoder gave it."""

    token: str
    token_id: int
    confidence: float


@dataclass
class Alternative:
    """One of the n best readings of a line (beam search)."""

    text: str
    score: float  # the beam score: sum of token log-probs / length ** length_penalty
    confidence: float


@dataclass
class Recognition:
    """The reading of one line image. A line that could not be read keeps its error."""

    text: str
    confidence: float | None
    model: str
    engine: str = "trocr"
    source: str | None = None
    tokens: list[TokenScore] = field(default_factory=list)
    alternatives: list[Alternative] = field(default_factory=list)
    embedding: list[float] | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def failed(source: str | None, error: BaseException | str, model: str, engine: str = "trocr"):
    """A Recognition that records why a line could not be read."""
    return Recognition(
        text="", confidence=None, model=model, engine=engine, source=source, error=str(error)
    )


@dataclass
class ReadLine:
    """A line of a page and its reading: what the pipeline hands to exporters."""

    line: Line
    recognition: Recognition

    def to_dict(self) -> dict[str, Any]:
        r = self.recognition
        return {
            "bbox": [round(v, 1) for v in self.line.bbox],
            "kind": self.line.kind,
            "kind_probability": self.line.kind_probability,
            "text": r.text,
            "confidence": r.confidence,
            "engine": r.engine,
            "model": r.model,
            "error": r.error,
        }


@dataclass
class PageResult:
    """The lines of one page, in reading order."""

    source: str
    page_number: int
    width: int
    height: int
    lines: list[ReadLine] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "page_number": self.page_number,
            "width": self.width,
            "height": self.height,
            "lines": [line.to_dict() for line in self.lines],
            "error": self.error,
        }
