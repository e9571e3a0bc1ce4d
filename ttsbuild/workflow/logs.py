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


class _ErrorSeen(logging.Handler):
    """Remembers whether Snakemake logged an error (every exception it catches goes through
    ``print_exception`` -> ``logger.error``, including those after which it calls neither
    ``onsuccess`` nor ``onerror``: a missing input, a locked directory, a full disk)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen = False

    def emit(self, record: logging.LogRecord) -> None:
        self.seen = True


#: Kept here, not looked up on the logger: Snakemake removes every handler of its logger when
#: it shuts logging down, which happens before the process exits and we report.
_errors = _ErrorSeen()


def watch_snakemake_errors() -> None:
    """Start (once) noting Snakemake's errors; :func:`snakemake_failed` reads the note."""
    snakemake_logger = logging.getLogger("snakemake.logging")
    if _errors not in snakemake_logger.handlers:
        snakemake_logger.addHandler(_errors)


def snakemake_failed() -> bool:
    """Whether Snakemake has logged an error in this process since the watch began."""
    return _errors.seen


def fail(exc: TTSBuildError) -> None:
    """Report a user error as one line and stop (no traceback), as at parse time."""
    sys.stderr.write(f"ttsbuild: error: {exc}\n")
    if os.environ.get("TTSBUILD_DEBUG"):
        raise exc
    sys.exit(1)
