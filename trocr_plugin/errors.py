"""Exceptions. Each message names the input or model it is about and what is wrong."""

from __future__ import annotations


class TrocrPluginError(Exception):
    """Base class of every error this package raises on purpose."""


class InputError(TrocrPluginError, ValueError):
    """An input (file, bytes, image, array) that cannot be read as an image."""

    def __init__(self, source: str, problem: str):
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")


class ModelNotAvailableError(TrocrPluginError, OSError):
    """A model that cannot be loaded (not cached, offline, wrong files, unsafe format)."""


class PluginError(TrocrPluginError):
    """A plugin that registered something invalid, or a lookup of something not registered."""
