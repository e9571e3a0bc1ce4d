"""Where a build writes: the store (``TTSBUILD_STORE`` or ``store:``) and ``out/``, checked
when the project is read, so a typo is one error naming the config line, never a traceback
per render job or a store written somewhere unexpected.

Imports: core, config.schema.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ttsbuild.config.schema import config_line
from ttsbuild.core.errors import ConfigError
from ttsbuild.core.fsutil import blocking_file


def store_path(config: Mapping[str, Any], root: Path, config_file: str) -> Path:
    """``TTSBUILD_STORE`` or ``store:`` (``~`` expanded): a folder, or where one can be made."""
    from_env = bool(os.environ.get("TTSBUILD_STORE"))
    given = "TTSBUILD_STORE" if from_env else "store"
    line = None if from_env else config_line(root / config_file, "store")
    raw = str(os.environ.get("TTSBUILD_STORE") or config["store"])
    if not raw.strip():
        raise ConfigError(
            f"{given} is empty: the build would write its segments into the project folder "
            "itself; name a folder (the default is build/segments)",
            config_file,
            line,
        )
    store = Path(raw).expanduser()
    blocker = blocking_file(store if store.is_absolute() else root / store)
    if blocker is not None:
        raise ConfigError(
            f"{given} {raw!r}: {blocker} is a file, not a folder: the store keeps one file "
            "per segment; point it at a folder (it is created when missing)",
            config_file,
            line,
        )
    return store


def check_outputs(root: Path, store: Path, allowed: tuple[Path, ...], config_file: str) -> None:
    """Where a build writes stays inside the project (or ``allow_outside``): a relative store
    (a path that climbs out is almost always a typo; an absolute one is an explicit choice)
    and ``out/`` (a symlink to a folder elsewhere would get the episodes)."""

    def inside(path: Path) -> bool:
        resolved = path.resolve()
        return any(resolved == b or b in resolved.parents for b in (root, *allowed))

    if (
        not store.is_absolute()
        and not os.environ.get("TTSBUILD_STORE")
        and not inside(root / store)
    ):
        raise ConfigError(
            f"store {str(store)!r} is outside the project directory; give an absolute "
            "path or list its folder under 'allow_outside:' to allow it",
            config_file,
            config_line(root / config_file, "store"),
        )
    out = root / "out"
    if (out.exists() or out.is_symlink()) and not inside(out):
        raise ConfigError(
            f"out/ leads to {out.resolve()}, outside the project directory; the episodes "
            "would be written there. Make out/ a folder of the project, or list that folder "
            "under 'allow_outside:'",
            config_file,
        )
