"""Plugins: registered at run time or through entry points, and used by the pipeline."""

import io
import json
import sys
import textwrap
import types

import pytest

from trocr_plugin import hookimpl, pipeline, plugins
from trocr_plugin.errors import PluginError
from trocr_plugin.types import Recognition, Region


def make_plugin(name: str, **hooks) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook_name, function in hooks.items():
        setattr(module, hook_name, hookimpl(function))
    return module


class UpperHandler:
    """Reads every line as the same word, so a test can see it was used."""

    def recognize(self, images, names=None, **options):
        return [Recognition(text="PLUGGED", confidence=1.0, model="none", engine="upper")
                for _ in images]


def test_builtins_are_registered_through_the_hooks():
    registry = plugins.get_registry()
    assert registry.names("element_handler") == ["handwritten"]
    entry = registry.registration("element_handler", "handwritten")
    assert entry.builtin and entry.plugin == "trocr_plugin.default_plugins.handlers"
    assert {"json", "text"} <= set(registry.names("exporter"))


def test_a_plugin_registered_at_run_time_is_used(line_images):
    def register_element_handlers(register):
        register("handwritten", UpperHandler())

    def register_layout_detectors(register):
        register("two-halves", lambda page: [
            Region((0, 0, page.image.width // 2, page.image.height), "handwritten"),
            Region((page.image.width // 2, 0, page.image.width, page.image.height), "handwritten"),
        ])

    def register_exporters(register):
        register("shout", lambda pages, stream: stream.write(
            " ".join(line.recognition.text for p in pages for line in p.lines) + "!"))

    plugins.register_plugin(make_plugin(
        "my_plugin", register_element_handlers=register_element_handlers,
        register_layout_detectors=register_layout_detectors,
        register_exporters=register_exporters))
    entry = plugins.get_registry().registration("element_handler", "handwritten")
    assert not entry.builtin and "registered at run time" in entry.origin

    pages = pipeline.read(line_images[2], layout="two-halves")
    assert [line.recognition.engine for line in pages[0].lines] == ["upper", "upper"]
    out = io.StringIO()
    pipeline.export(pages, "shout", out)
    assert out.getvalue() == "PLUGGED PLUGGED!"

    plugins.unregister_plugin("my_plugin")
    assert plugins.get_registry().registration("element_handler", "handwritten").builtin


def test_two_external_plugins_with_one_name_conflict():
    def register_exporters(register):
        register("csv", lambda pages, stream: None)

    plugins.register_plugin(make_plugin("a", register_exporters=register_exporters))
    plugins.register_plugin(make_plugin("b", register_exporters=register_exporters))
    with pytest.raises(PluginError, match="'a' and 'b'"):
        plugins.get_registry()


def test_invalid_registrations_are_refused():
    def register_element_handlers(register):
        register("handwritten", object())

    plugins.register_plugin(make_plugin("broken", register_element_handlers=register_element_handlers))
    with pytest.raises(PluginError, match="broken.*recognize"):
        plugins.get_registry()


def test_unknown_names_list_what_is_registered():
    with pytest.raises(PluginError, match="registered: json, text"):
        plugins.get_registry().get("exporter", "yaml")


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """A distribution with a trocr_plugin entry point, found on sys.path, installed nowhere."""
    (tmp_path / "acme_trocr.py").write_text(textwrap.dedent("""
        from trocr_plugin import hookimpl

        @hookimpl
        def register_exporters(register):
            register("acme", lambda pages, stream: stream.write("acme"))
    """))
    dist = tmp_path / "acme_trocr-1.2.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-trocr\nVersion: 1.2\n")
    (dist / "entry_points.txt").write_text("[trocr_plugin]\nacme = acme_trocr\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("acme_trocr", None)


def test_entry_point_plugins_load_and_the_environment_restricts_them(installed_plugin,
                                                                     monkeypatch):
    entry = plugins.get_registry().registration("exporter", "acme")
    assert entry.origin.startswith("acme-trocr 1.2")

    for selection, loaded in [("", False), ("other", False), ("acme", True),
                              ("acme-trocr", True)]:
        monkeypatch.setenv("TROCR_PLUGIN_LOAD_PLUGINS", selection)
        plugins.reset()
        assert ("acme" in plugins.get_registry().names("exporter")) is loaded, selection


def test_plugins_command_lists_origins(installed_plugin, capsys):
    from trocr_plugin.cli import main

    assert main(["plugins", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    handler = listing["element_handler"][0]
    assert handler["name"] == "handwritten" and "built-in" in handler["origin"]
    assert any(e["name"] == "acme" and "acme-trocr 1.2" in e["origin"]
               for e in listing["exporter"])
