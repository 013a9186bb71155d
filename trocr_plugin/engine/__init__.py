"""The shared TrOCR inference engine: the only part of trocr_plugin that imports torch."""

from .core import Engine, clear_engines, get_engine
from .model import DecodeOptions

__all__ = ["DecodeOptions", "Engine", "clear_engines", "get_engine"]
