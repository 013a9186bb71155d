"""The plugin manager and the registry of everything plugins registered.

Built-in implementations are plugins too ("default plugins"), registered through the same
hooks as a third party's. External plugins come from the `trocr_plugin` entry-point group;
$TROCR_PLUGIN_LOAD_PLUGINS (comma-separated entry-point or distribution names, empty for
none) restricts which of them load. An external registration replaces a built-in one of
the same name; two external ones of the same name are an error.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import threading
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy

from . import hookspecs
from .config import PLUGINS_ENV
from .errors import PluginError

log = logging.getLogger("trocr_plugin")

ENTRY_POINT_GROUP = "trocr_plugin"

# kind -> the hook that registers it
HOOKS = {
    "page_loader": "register_page_loaders",
    "layout_detector": "register_layout_detectors",
    "line_segmenter": "register_line_segmenters",
    "element_handler": "register_element_handlers",
    "exporter": "register_exporters",
}

DEFAULT_PLUGINS = (
    "trocr_plugin.default_plugins.pages",
    "trocr_plugin.default_plugins.layout",
    "trocr_plugin.default_plugins.handlers",
    "trocr_plugin.default_plugins.exporters",
)


@dataclass(frozen=True)
class Registration:
    kind: str
    name: str
    obj: Any
    plugin: str
    origin: str
    builtin: bool
    options: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        target = getattr(self.obj, "__qualname__", None) or type(self.obj).__qualname__
        module = getattr(self.obj, "__module__", None) or type(self.obj).__module__
        info = {"name": self.name, "object": f"{module}.{target}", "plugin": self.plugin,
                "origin": self.origin, "builtin": self.builtin}
        info.update({k: list(v) if isinstance(v, tuple) else v for k, v in self.options.items()})
        return info


class Registry:
    """What the loaded plugins registered, by kind and name."""

    def __init__(self, entries: dict[str, dict[str, Registration]], failed: dict[str, str]):
        self._entries = entries
        self.failed = failed  # plugin name -> why it could not load

    def get(self, kind: str, name: str) -> Any:
        return self.registration(kind, name).obj

    def registration(self, kind: str, name: str) -> Registration:
        try:
            return self._entries[kind][name]
        except KeyError:
            known = ", ".join(sorted(self._entries.get(kind, {}))) or "none"
            raise PluginError(
                f"no {kind.replace('_', ' ')} named {name!r} is registered (registered: {known})"
            ) from None

    def names(self, kind: str) -> list[str]:
        return sorted(self._entries.get(kind, {}))

    def entries(self, kind: str) -> list[Registration]:
        return [self._entries[kind][n] for n in self.names(kind)]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {kind: [r.describe() for r in self.entries(kind)] for kind in HOOKS}
        if self.failed:
            out["failed_plugins"] = dict(self.failed)
        return out


_lock = threading.RLock()
_pm: pluggy.PluginManager | None = None
_registry: Registry | None = None
_origins: dict[str, tuple[str, bool]] = {}  # plugin name -> (origin, built-in?)
_failed: dict[str, str] = {}


def get_plugin_manager() -> pluggy.PluginManager:
    """The process's plugin manager, with default and entry-point plugins loaded."""
    global _pm
    with _lock:
        if _pm is None:
            pm = pluggy.PluginManager("trocr_plugin")
            pm.add_hookspecs(hookspecs)
            _load_defaults(pm)
            _load_entry_points(pm)
            _pm = pm
        return _pm


def _load_defaults(pm: pluggy.PluginManager) -> None:
    from . import __version__

    for module_name in DEFAULT_PLUGINS:
        module = importlib.import_module(module_name)
        pm.register(module, name=module_name)
        _origins[module_name] = (f"trocr-plugin {__version__} (built-in)", True)


def _wanted(names: str | None, entry_point: importlib.metadata.EntryPoint) -> bool:
    if names is None:
        return True
    allowed = {n.strip() for n in names.split(",") if n.strip()}
    dist = entry_point.dist.name if entry_point.dist else None
    return entry_point.name in allowed or (dist is not None and dist in allowed)


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    selection = os.environ.get(PLUGINS_ENV)
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if not _wanted(selection, ep) or pm.has_plugin(ep.name):
            continue
        dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist else "unknown distribution"
        try:
            module = ep.load()
        except Exception as err:  # one broken plugin must not take the others down
            _failed[ep.name] = f"{dist}: {type(err).__name__}: {err}"
            log.warning("plugin %r (%s) failed to load: %s", ep.name, dist, err)
            continue
        pm.register(module, name=ep.name)
        _origins[ep.name] = (f"{dist} (entry point {ep.value})", False)


def register_plugin(plugin: ModuleType | object, name: str | None = None) -> str:
    """Register a plugin (a module or object with @hookimpl functions) at run time."""
    with _lock:
        pm = get_plugin_manager()
        name = name or getattr(plugin, "__name__", None) or repr(plugin)
        if pm.has_plugin(name):
            raise PluginError(f"a plugin named {name!r} is already registered")
        pm.register(plugin, name=name)
        _origins[name] = (f"module {getattr(plugin, '__name__', name)} (registered at run time)",
                          False)
        _invalidate()
        return name


def unregister_plugin(name: str) -> None:
    with _lock:
        pm = get_plugin_manager()
        if not pm.has_plugin(name):
            raise PluginError(f"no plugin named {name!r} is registered")
        pm.unregister(name=name)
        _origins.pop(name, None)
        _invalidate()


def _invalidate() -> None:
    global _registry
    _registry = None


def get_registry() -> Registry:
    """Everything registered, collected from the hooks once and cached until plugins change."""
    global _registry
    with _lock:
        if _registry is None:
            _registry = _collect(get_plugin_manager())
        return _registry


def _collect(pm: pluggy.PluginManager) -> Registry:
    entries: dict[str, dict[str, Registration]] = {kind: {} for kind in HOOKS}
    for kind, hook_name in HOOKS.items():
        hook = getattr(pm.hook, hook_name)
        # Call each implementation on its own, to know which plugin registered what.
        for impl in hook.get_hookimpls():
            origin, builtin = _origins.get(impl.plugin_name, (impl.plugin_name, False))

            def register(name: str, obj: Any, _kind=kind, _impl=impl, _origin=origin,
                         _builtin=builtin, **options: Any) -> None:
                _validate(_kind, name, obj, options, _impl.plugin_name)
                new = Registration(_kind, name, obj, _impl.plugin_name, _origin, _builtin,
                                   options)
                _add(entries[_kind], new)

            impl.function(register=register)
    return Registry(entries, dict(_failed))


def _add(table: dict[str, Registration], new: Registration) -> None:
    old = table.get(new.name)
    if old is None or (old.builtin and not new.builtin):
        if old is not None:
            log.info("%s %r from %s replaces the built-in one", new.kind, new.name, new.plugin)
        table[new.name] = new
    elif new.builtin and not old.builtin:
        return  # an external plugin already replaced this built-in
    else:
        raise PluginError(
            f"{new.kind.replace('_', ' ')} {new.name!r} is registered by both {old.plugin!r} "
            f"and {new.plugin!r}; unload one of them ({PLUGINS_ENV})"
        )


def _validate(kind: str, name: Any, obj: Any, options: dict[str, Any], plugin: str) -> None:
    where = f"plugin {plugin!r} registered {kind.replace('_', ' ')} {name!r}"
    if not isinstance(name, str) or not name:
        raise PluginError(f"{where}: the name must be a non-empty string")
    if kind == "element_handler":
        if not callable(getattr(obj, "recognize", None)):
            raise PluginError(f"{where}: a handler needs a recognize(images, ...) method")
    elif not callable(obj):
        raise PluginError(f"{where}: {obj!r} is not callable")
    suffixes = options.get("suffixes", ())
    if not all(isinstance(s, str) and s.startswith(".") for s in suffixes):
        raise PluginError(f"{where}: suffixes must be strings like '.png', got {suffixes!r}")


def reset() -> None:
    """Forget the plugin manager and registry; the next use loads plugins afresh (tests)."""
    global _pm
    with _lock:
        _pm = None
        _origins.clear()
        _failed.clear()
        _invalidate()
