"""Built-in element handler: handwritten lines are read by the shared TrOCR engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..hookspecs import hookimpl
from ..types import Recognition

ENGINE_SETTINGS = ("model", "device", "dtype", "backend", "max_batch_size", "max_wait_ms")


class TrOCRHandler:
    """Reads line images with the process's shared engine for the given settings.

    Options: the engine settings (model, device, dtype, backend, max_batch_size,
    max_wait_ms) and the decoding options (num_beams, num_return_sequences,
    length_penalty, max_new_tokens, min_new_tokens, return_tokens, return_embedding).
    """

    name = "trocr"

    def recognize(
        self, images: Sequence[Any], names: Sequence[str] | None = None, **options: Any
    ) -> list[Recognition]:
        from ..engine import DecodeOptions, get_engine  # torch loads on first use only

        settings = {k: options.pop(k) for k in ENGINE_SETTINGS if k in options}
        settings = {k: v for k, v in settings.items() if v is not None}
        limits = options.pop("limits", None)
        engine = get_engine(**settings)
        return engine.recognize(images, DecodeOptions(**options), names=names, limits=limits)


@hookimpl
def register_element_handlers(register):
    register("handwritten", TrOCRHandler())
