"""Engine registry: names to engine classes, imported lazily.

Built-in engines are listed in :data:`BUILTIN`. Other engines register through the
``ttsbuild.engines`` entry-point group, or the ``TTSBUILD_ENGINE_PLUGINS`` environment variable
(``name=module:Class,...``), which is how tests add a fast fake engine without shipping one.

Stage 3, engines (a service of planning and rendering): one module per engine behind the
Protocol in :mod:`ttsbuild.engines.base`. Planning asks an engine for its declared info and
voices; rendering loads its model. May import: core, config.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from importlib.metadata import entry_points

from ttsbuild.config.settings import EngineOptions
from ttsbuild.core.errors import EngineError
from ttsbuild.core.request import RenderRequest, Voice

from .base import COMMON_PARAMS, Engine, EngineInfo, Model, ParamSpec

__all__ = [
    "BUILTIN",
    "COMMON_PARAMS",
    "Engine",
    "EngineInfo",
    "EngineOptions",
    "Model",
    "ParamSpec",
    "RenderRequest",
    "Voice",
    "get_engine",
    "known_engines",
]

log = logging.getLogger(__name__)

BUILTIN: dict[str, str] = {
    "piper": "ttsbuild.engines.piper:PiperEngine",
    "chatterbox": "ttsbuild.engines.chatterbox:ChatterboxEngine",
    "chatterbox-multilingual": "ttsbuild.engines.chatterbox:ChatterboxMultilingualEngine",
    "f5tts": "ttsbuild.engines.f5tts:F5TTSEngine",
    "kokoro": "ttsbuild.engines.kokoro:KokoroEngine",
    "chatterbox-vc": "ttsbuild.engines.chatterbox_vc:ChatterboxVCEngine",  # a converter
}

_lock = threading.Lock()
_instances: dict[str, Engine] = {}


def _registry() -> dict[str, str]:
    table = dict(BUILTIN)
    for ep in entry_points(group="ttsbuild.engines"):
        table.setdefault(ep.name, ep.value)
    for item in filter(None, os.environ.get("TTSBUILD_ENGINE_PLUGINS", "").split(",")):
        name, sep, target = item.partition("=")
        if sep and name.strip() and ":" in target:
            table[name.strip()] = target.strip()
    return table


def known_engines() -> list[str]:
    return sorted(_registry())


def get_engine(name: str) -> Engine:
    """The engine registered as ``name``; an unknown name lists the known ones."""
    with _lock:
        if name in _instances:
            return _instances[name]
        table = _registry()
        if name not in table:
            raise EngineError(f"unknown engine {name!r}; known engines: {', '.join(sorted(table))}")
        module_name, _, attr = table[name].partition(":")
        try:
            cls = getattr(importlib.import_module(module_name), attr)
        except ImportError as exc:
            raise EngineError(
                f"engine {name!r} is not installed ({exc}); see docs/engines.md for its extra"
            ) from None
        engine = cls()
        _instances[name] = engine
        return engine
