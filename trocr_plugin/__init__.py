"""trocr-plugin: handwriting recognition (TrOCR) for document pipelines.

Importing this package does not import torch; the engine loads on first use.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

from .config import DEFAULT_MODEL, resolve_model  # noqa: E402
from .errors import InputError, ModelNotAvailableError, PluginError, TrocrPluginError  # noqa: E402
from .hookspecs import hookimpl  # noqa: E402
from .types import Line, Page, PageResult, ReadLine, Recognition, Region  # noqa: E402


def recognize(images, **options: Any) -> list[Recognition]:
    """Read line images (paths, bytes, PIL images or arrays) with the handwriting handler.

    Options: model, device, dtype, max_batch_size, num_beams, num_return_sequences,
    length_penalty, max_new_tokens, return_embedding, ... (see TrOCRHandler).
    """
    from .plugins import get_registry

    names = options.pop("names", None)
    return get_registry().get("element_handler", "handwritten").recognize(
        list(images), names=names, **options
    )


__all__ = [
    "DEFAULT_MODEL",
    "InputError",
    "Line",
    "ModelNotAvailableError",
    "Page",
    "PageResult",
    "PluginError",
    "ReadLine",
    "Recognition",
    "Region",
    "TrocrPluginError",
    "__version__",
    "hookimpl",
    "recognize",
    "resolve_model",
]
