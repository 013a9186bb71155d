"""Settings that every entry point shares (CLI, Python API, adapters): which model, which limits."""

from __future__ import annotations

import os

DEFAULT_MODEL = "microsoft/trocr-base-handwritten"
MODEL_ENV = "TROCR_PLUGIN_MODEL"
PLUGINS_ENV = "TROCR_PLUGIN_LOAD_PLUGINS"


def resolve_model(model: str | os.PathLike | None = None) -> str:
    """The model to use: the explicit argument, else $TROCR_PLUGIN_MODEL, else the default."""
    if model:
        return os.fspath(model)
    return os.environ.get(MODEL_ENV) or DEFAULT_MODEL
