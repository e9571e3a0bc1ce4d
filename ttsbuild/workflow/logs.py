"""Logging for builds: ttsbuild's messages on stderr once, Snakemake's noise filtered, one-line
user errors.

Imports: core only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from ttsbuild.core.errors import TTSBuildError


def setup_logging(level: int = logging.INFO) -> None:
    """ttsbuild's messages go to stderr once, whatever Snakemake does to its own logger.

    The logger itself passes DEBUG records on, for the job logs (:func:`job_log`); stderr shows
    ``level`` and up (``TTSBUILD_LOG_LEVEL`` overrides it)."""
    root = logging.getLogger("ttsbuild")
    shown = int(os.environ.get("TTSBUILD_LOG_LEVEL", level))
    handler = next((h for h in root.handlers if getattr(h, "_ttsbuild", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._ttsbuild = True  # type: ignore[attr-defined]
        handler.addFilter(_SaidOnce())
        root.addHandler(handler)
    handler.setLevel(shown)
    root.setLevel(min(shown, logging.DEBUG))
    root.propagate = False


class _SaidOnce(logging.Filter):
    """A warning shown once on stderr per process: jobs of one build that compute the same
    thing (an episode and its stems time the same cues and master to the same target) would
    each give it. Each job's log file still has its own; the message names the file and the
    line, so two different problems never look alike."""

    def __init__(self) -> None:
        super().__init__()
        self.said: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING:
            return True
        message = record.getMessage()
        if message in self.said:
            return False
        self.said.add(message)
        return True


class _ThisThread(logging.Filter):
    """Only the records of one thread: Snakemake runs local jobs in threads of one process."""

    def __init__(self) -> None:
        super().__init__()
        self.ident = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread == self.ident


@contextlib.contextmanager
def job_log(path: str | Path | None) -> Iterator[None]:
    """Write what this job does (ttsbuild's records of the calling thread, DEBUG and up) to
    the rule's ``log:`` file, replacing what an earlier run wrote there."""
    if not path:
        yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.setLevel(logging.DEBUG)
    handler.addFilter(_ThisThread())
    logger = logging.getLogger("ttsbuild")
    logger.addHandler(handler)
    try:
        yield
    except Exception as exc:
        logger.error("ttsbuild: job failed: %s", exc)
        raise
    finally:
        logger.removeHandler(handler)
        handler.close()


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
