"""The project lock: one shared flock per running build, and safe removal of stale Snakemake
locks that a killed build left behind.

Imports: nothing of ttsbuild.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path

log = logging.getLogger("ttsbuild")

STATE_DIR = "build/.ttsbuild"


_claims: dict[str, int] = {}


def claim_workdir(root: Path) -> list[str]:
    """Hold a shared lock on the project for this Snakemake process's lifetime; remove stale
    Snakemake locks first if no other ttsbuild build of this project is alive.

    Snakemake's own locks (``.snakemake/locks``) are plain files: a build killed by SIGKILL or
    a power loss leaves them behind, and the next build refuses to start until ``--unlock``.
    Every build of this Snakefile holds ``build/.ttsbuild/build.lock`` (shared) while it runs;
    the kernel releases it when the process dies. Getting it exclusively therefore proves
    that every Snakemake lock file present belongs to a dead process. Returns what it removed.
    """
    path = root / STATE_DIR / "build.lock"
    if str(path) in _claims:
        return []
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o666)
    removed: list[str] = []
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # another build of this project is running: its locks are live
        log.warning(
            "ttsbuild: another build of this project is running. If Snakemake says the "
            "directory cannot be locked, wait for it (do not use --unlock): builds of episodes "
            "that share segments cannot overlap in one project; build them in one call, e.g. "
            "snakemake out/ep1.wav out/ep2.wav"
        )
    else:
        locks = root / ".snakemake" / "locks"
        for lock in sorted(locks.glob("*.lock")) if locks.is_dir() else []:
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
                removed.append(lock.name)
        if removed:
            log.warning(
                "ttsbuild: removed Snakemake locks left by a build that was killed (%s)",
                ", ".join(removed),
            )
    fcntl.flock(fd, fcntl.LOCK_SH)
    _claims[str(path)] = fd  # held until the process exits
    return removed
