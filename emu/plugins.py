"""Plugins: packages and files that add devices and their pagetable_ops to the guest kernel.

A plugin is a Python module with a function `register(kernel)`, which adds what it
provides, e.g. `kernel.devices.register("/dev/page-huge", opener)`; a `DESCRIPTION`
string is optional. emu finds plugins two ways:

- installed ones, through the entry-point group `emu.plugins` (a third party ships one
  with pip: `[project.entry-points."emu.plugins"] name = "package.module"`);
- `emu run --plugin FILE.py`, a file loaded for this run.

`emu plugins` lists what is found. A plugin that fails to import or register is named
in a one-line error (PluginError), never a traceback.
"""

import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path

ENTRY_POINT_GROUP = "emu.plugins"


class PluginError(Exception):
    """A plugin that cannot be loaded or registered; str() is one line naming it."""


@dataclass(frozen=True)
class Plugin:
    name: str
    origin: str            # "entry point package.module" or the file's path
    module: object

    @property
    def description(self) -> str:
        return getattr(self.module, "DESCRIPTION", "").strip().splitlines()[0] if getattr(
            self.module, "DESCRIPTION", "") else ""


def discover(files=()) -> list:
    """The installed plugins (entry points) and those in `files`, loaded, in that order."""
    plugins = []
    for entry in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            module = entry.load()
        except Exception as err:                    # a plugin's own bug: name it, in one line
            raise PluginError(f"plugin {entry.name} ({entry.value}) failed to load: "
                              f"{type(err).__name__}: {err}") from None
        plugins.append(Plugin(entry.name, f"entry point {entry.value}", module))
    for path in files:
        plugins.append(load_file(Path(path)))
    for plugin in plugins:
        if not callable(getattr(plugin.module, "register", None)):
            raise PluginError(f"plugin {plugin.name} ({plugin.origin}) has no register(kernel) function")
    return plugins


def load_file(path: Path) -> Plugin:
    if not path.is_file():
        raise PluginError(f"plugin {path}: no such file")
    name = path.stem
    try:
        spec = importlib.util.spec_from_file_location(f"emu_plugin_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except Exception as err:
        raise PluginError(f"plugin {path} failed to load: {type(err).__name__}: {err}") from None
    return Plugin(name, str(path), module)


def register_all(kernel, plugins) -> None:
    for plugin in plugins:
        try:
            plugin.module.register(kernel)
        except Exception as err:
            raise PluginError(f"plugin {plugin.name} ({plugin.origin}) failed to register: "
                              f"{type(err).__name__}: {err}") from None
