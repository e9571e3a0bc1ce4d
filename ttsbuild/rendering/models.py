"""The model manager: one loaded model per (engine, model, device) per process.

Shared by every character and language that uses it, safe under threads, released at the end
of a build. Load counts are kept so tests and benchmarks can prove "one load per build".
"""

from __future__ import annotations

import dataclasses
import gc
import importlib.util
import logging
import sys
import threading
import time
from collections import Counter

from ttsbuild.core.errors import EngineError
from ttsbuild.engines import EngineOptions, Model, get_engine

log = logging.getLogger(__name__)

_lock = threading.Lock()
_load_lock = threading.Lock()
_key_locks: dict[tuple[str, str, str], threading.Lock] = {}
_models: dict[tuple[str, str, str], Model] = {}
LOAD_COUNTS: Counter[str] = Counter()


def resolve_device(device: str, uses_torch: bool) -> str:
    """Resolve "auto" before anything is hashed or loaded; the device never enters a key."""
    if device != "auto":
        return device
    if not uses_torch or importlib.util.find_spec("torch") is None:
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def check_cuda(device: str) -> None:
    """Raise :class:`EngineError` (one line, with the fix) unless torch can use ``device``."""
    try:
        import torch
    except ImportError:
        raise EngineError(
            f"device '{device}': torch is not installed in {sys.executable}; install the "
            "engine's GPU runtime (docs/engines.md) or set the engine's device to cpu or auto"
        ) from None
    if not torch.cuda.is_available():
        build = getattr(torch.version, "cuda", None)
        why = f"CUDA {build} build, but no GPU or driver" if build else "a CPU-only build"
        raise EngineError(
            f"device '{device}': torch {torch.__version__} sees no CUDA device ({why}); "
            "set the engine's device to cpu or auto (engines.<name>.device)"
        )
    index = device.partition(":")[2]
    if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
        raise EngineError(
            f"device '{device}': torch sees {torch.cuda.device_count()} CUDA device(s)"
        )


def get_model(engine_name: str, options: EngineOptions) -> Model:
    engine = get_engine(engine_name)
    device = resolve_device(options.device, engine.info.uses_torch)
    if engine.info.uses_torch and device.startswith("cuda"):
        check_cuda(device)  # one clear line, not torch's assertion from deep inside a load
    key = (engine_name, engine.model_id(options), device)
    with _lock:
        model = _models.get(key)
        if model is not None:
            return model
        key_lock = _key_locks.setdefault(key, threading.Lock())
    with key_lock:  # one loader per key; other threads wait for it
        with _lock:
            if key in _models:
                return _models[key]
        started = time.perf_counter()
        resolved = dataclasses.replace(options, device=device)
        # One load at a time in a process: loading imports heavy libraries (torch,
        # transformers' lazy modules, chatterbox), and two threads importing them at once can
        # see a partially initialized module ("cannot import name ... most likely due to a
        # circular import"). Loads of one key already wait on key_lock.
        with _load_lock:
            model = engine.load(resolved)
        with _lock:
            _models[key] = model
            LOAD_COUNTS[engine_name] += 1
        log.info(
            "ttsbuild: loaded engine %s model %s on %s in %.2f s",
            engine_name,
            key[1],
            device,
            time.perf_counter() - started,
        )
        return model


def release_models() -> None:
    """Drop every loaded model (end of build) and free accelerator memory."""
    with _lock:
        had_any = bool(_models)
        _models.clear()
    if had_any:
        gc.collect()
        if importlib.util.find_spec("torch") is not None:
            import sys

            torch = sys.modules.get("torch")
            if torch is not None and torch.cuda.is_available():
                torch.cuda.empty_cache()
