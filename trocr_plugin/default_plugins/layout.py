"""Built-in layout for images that already are single text lines (what `recognize` reads).

"whole-page" makes the page one region of a given kind; "single-line" makes a region one
line. Page-level detectors and segmenters plug in through the same hooks.
"""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..types import Line, Page, Region


def whole_page(page: Page, kind: str = "handwritten") -> list[Region]:
    width, height = page.image.size
    return [Region(bbox=(0, 0, width, height), kind=kind, kind_probability=1.0)]


def single_line(page: Page, region: Region) -> list[Line]:
    return [Line(bbox=region.bbox, kind=region.kind, kind_probability=region.kind_probability,
                 polygon=region.polygon)]


@hookimpl
def register_layout_detectors(register):
    register("whole-page", whole_page)


@hookimpl
def register_line_segmenters(register):
    register("single-line", single_line)
