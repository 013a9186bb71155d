"""Imports of torch and transformers, behind a guard against a broken torchvision.

pip installs a CUDA torchvision beside a CPU torch when another package (unstructured's
image extras) asks for it. Importing it then fails ("operator torchvision::nms does not
exist") and transformers, which imports torchvision when it is installed, refuses to load
VisionEncoderDecoderModel. TrOCR needs nothing from torchvision: when it is broken we hide
it, so transformers takes its PIL image path.
"""

from __future__ import annotations

import importlib.util
import logging
import sys

log = logging.getLogger("trocr_plugin")

TORCHVISION_BROKEN: str | None = None  # why torchvision was hidden, if it was


def guard_torchvision() -> None:
    """Hide an installed torchvision that fails to import. Safe to call more than once."""
    global TORCHVISION_BROKEN
    if "torchvision" in sys.modules or importlib.util.find_spec("torchvision") is None:
        return
    try:
        import torchvision  # noqa: F401
    except Exception as err:  # a broken build raises RuntimeError, not ImportError
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
        # None in sys.modules makes find_spec() return None and `import torchvision` raise
        # ImportError, which is how transformers decides that torchvision is absent.
        sys.modules["torchvision"] = None  # type: ignore[assignment]
        TORCHVISION_BROKEN = f"{type(err).__name__}: {err}"
        log.warning("torchvision is installed but broken (%s); TrOCR runs without it", err)
        import_utils = sys.modules.get("transformers.utils.import_utils")
        cached = getattr(import_utils, "is_torchvision_available", None)
        if cached is not None and hasattr(cached, "cache_clear"):
            cached.cache_clear()


guard_torchvision()

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import (  # noqa: E402
    AutoImageProcessor,
    AutoTokenizer,
    GenerationConfig,
    VisionEncoderDecoderConfig,
    VisionEncoderDecoderModel,
)
from transformers.cache_utils import DynamicCache, EncoderDecoderCache  # noqa: E402
from transformers.modeling_outputs import BaseModelOutput  # noqa: E402

__all__ = [
    "AutoImageProcessor",
    "AutoTokenizer",
    "BaseModelOutput",
    "DynamicCache",
    "EncoderDecoderCache",
    "GenerationConfig",
    "TORCHVISION_BROKEN",
    "VisionEncoderDecoderConfig",
    "VisionEncoderDecoderModel",
    "torch",
    "transformers",
]
