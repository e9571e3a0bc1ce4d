"""Logging for builds: ttsbuild's messages on stderr once, Snakemake's noise filtered, one-line
user errors.

Imports: core only.
"""

from __future__ import annotations

import logging
import os
import sys

from ttsbuild.core.errors import TTSBuildError


def setup_logging(level: int = logging.INFO) -> None:
    """ttsbuild's messages go to stderr once, whatever Snakemake does to its own logger."""
    root = logging.getLogger("ttsbuild")
    if not any(getattr(h, "_ttsbuild", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._ttsbuild = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(int(os.environ.get("TTSBUILD_LOG_LEVEL", level)))
    root.propagate = False


class _NoBackupNoise(logging.Filter):
    """Drop Snakemake's "Cannot restore <segment>: no backup found." lines.

    Segment outputs are flagged update() (see rules/render.smk), so when a render job fails
    Snakemake tries to restore every one of them from a backup that exists only for segments
    another build finished meanwhile: one useless warning per segment of the batch, which
    would bury the one line naming the failing script line.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Cannot restore ") and message.endswith("no backup found."))


def quiet_snakemake_restore_warnings() -> None:
    snakemake_logger = logging.getLogger("snakemake.logging")
    if not any(isinstance(f, _NoBackupNoise) for f in snakemake_logger.filters):
        snakemake_logger.addFilter(_NoBackupNoise())


def fail(exc: TTSBuildError) -> None:
    """Report a user error as one line and stop (no traceback), as at parse time."""
    sys.stderr.write(f"ttsbuild: error: {exc}\n")
    if os.environ.get("TTSBUILD_DEBUG"):
        raise exc
    sys.exit(1)
