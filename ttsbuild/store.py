"""The segment store: ``<store>/<key>.wav`` plus a ``<key>.json`` sidecar, written atomically.

A segment file exists only when complete. Concurrent builds sharing a store coordinate with a
per-segment lock file, so the same segment is never rendered twice at the same time.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .fsutil import write_text_atomic

AUDIO_SUFFIX = ".wav"


def segment_path(store: Path, key: str) -> Path:
    return store / f"{key}{AUDIO_SUFFIX}"


def sidecar_path(store: Path, key: str) -> Path:
    return store / f"{key}.json"


def write_sidecar(store: Path, key: str, data: dict[str, Any]) -> None:
    write_text_atomic(sidecar_path(store, key), json.dumps(data, indent=1, sort_keys=True))


def read_sidecar(store: Path, key: str) -> dict[str, Any] | None:
    try:
        return json.loads(sidecar_path(store, key).read_text("utf-8"))
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def segment_lock(store: Path, key: str) -> Iterator[None]:
    """An exclusive advisory lock on one segment (released if the process dies)."""
    lock_dir = store / ".locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_dir / f"{key}.lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def failure_path(store: Path, key: str) -> Path:
    return store / ".failed" / f"{key}.txt"


def record_failure(store: Path, key: str, reason: str) -> None:
    """Remember why a segment failed (for the build report); cleared once it renders."""
    write_text_atomic(failure_path(store, key), reason)


def clear_failure(store: Path, key: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        failure_path(store, key).unlink()


def read_failure(store: Path, key: str) -> str | None:
    try:
        return failure_path(store, key).read_text("utf-8")
    except OSError:
        return None
