"""Built-in page loader for images: PNG, JPEG, TIFF (one page per frame), BMP, WebP, GIF."""

from __future__ import annotations

from collections.abc import Iterator

from ..hookspecs import hookimpl
from ..images import ImageInput, ImageLimits, describe, iter_frames
from ..types import Page

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif")


def load_image_pages(
    source: ImageInput, name: str | None = None, limits: ImageLimits | None = None, **_: object
) -> Iterator[Page]:
    """One Page per frame, decoded lazily: a 500-frame TIFF never sits in memory at once."""
    name = name or describe(source)
    for number, image in enumerate(iter_frames(source, name, limits), start=1):
        yield Page(image=image, page_number=number, source=name)


@hookimpl
def register_page_loaders(register):
    register("image", load_image_pages, suffixes=IMAGE_SUFFIXES)
