"""The hooks a trocr-plugin plugin can implement. Each receives a `register` callback."""

import pluggy

hookspec = pluggy.HookspecMarker("trocr_plugin")
hookimpl = pluggy.HookimplMarker("trocr_plugin")


@hookspec
def register_page_loaders(register):
    """Register page loaders: register(name, loader, suffixes=(".png", ...)); loader(source, **options) yields Pages."""


@hookspec
def register_layout_detectors(register):
    """Register layout detectors: register(name, detector); detector(page) returns Regions with their kind."""


@hookspec
def register_line_segmenters(register):
    """Register line segmenters: register(name, segmenter); segmenter(page, region) returns Lines in reading order."""


@hookspec
def register_element_handlers(register):
    """Register a handler per region kind: register(kind, handler); handler.recognize(images, names=..., **options) returns Recognitions."""


@hookspec
def register_exporters(register):
    """Register output formats: register(name, exporter, suffix=".json"); exporter(results, stream) writes them."""
