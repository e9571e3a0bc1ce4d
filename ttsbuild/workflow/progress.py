"""Progress while rendering: segments done of this build's total, elapsed time, and an estimate
from the rate measured so far.

The main Snakemake process watches the store for the segments of the render jobs this
invocation runs (whatever renders them: a job thread, the warm render server, an engine's
runtime, a cluster node writing to a shared store). On a terminal it keeps one progress bar
up to date (cleared before any other log line, redrawn after); otherwise (a CI log) it writes a
plain line when a render job's segments are all done and at most every
``TTSBUILD_PROGRESS_SECONDS`` (default 30) in between.

Imports: store, and the build (this is part of the workflow layer).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ttsbuild.store.segments import segment_path
from ttsbuild.workflow.build import Build

log = logging.getLogger("ttsbuild")


@dataclass(frozen=True)
class Item:
    """One segment to render: the file that says it is done, its weight (characters), and
    the render job (batch) it belongs to."""

    done: Callable[[], bool]
    weight: int
    batch: str


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def clock(seconds: float) -> str:
    """``m:ss``, or ``h:mm:ss`` from an hour on.

    >>> clock(5), clock(75.4), clock(3725)
    ('0:05', '1:15', '1:02:05')
    """
    s = int(seconds + 0.5)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """The state of one build's rendering and its rendering as text."""

    def __init__(self, items: Sequence[Item], now: float):
        self.items = list(items)
        self.total = len(self.items)
        self.total_weight = sum(i.weight for i in self.items) or 1
        self.started = now
        self.pending = list(self.items)
        self.done = 0
        self.done_weight = 0
        self.first: tuple[float, int] | None = None  # when the first segment was done, weight
        self.batches_left = {i.batch for i in self.items}

    def poll(self, now: float) -> list[str]:
        """Look at the store; returns the render jobs (batches) finished since the last poll."""
        still = []
        for item in self.pending:
            if item.done():
                self.done += 1
                self.done_weight += item.weight
            else:
                still.append(item)
        if self.done and self.first is None:
            self.first = (now, self.done_weight)
        self.pending = still
        open_batches = {i.batch for i in still}
        finished = sorted(self.batches_left - open_batches)
        self.batches_left = open_batches
        return finished

    def eta(self, now: float) -> float | None:
        """Seconds left at the rate measured since the first segment was done (weighted by
        characters: long lines take longer); None until there is a rate."""
        if self.first is None or self.done_weight <= self.first[1] or now <= self.first[0]:
            return None
        rate = (self.done_weight - self.first[1]) / (now - self.first[0])
        return (self.total_weight - self.done_weight) / rate

    def line(self, now: float, width: int | None = None, final: bool = False) -> str:
        """``rendering 7/16 segments (44%), 0:05 elapsed, about 0:06 left``; with ``width``,
        a bar of that many cells in front; ``final``: the build has ended (a failed segment,
        Ctrl-C), so what is left is said, not estimated."""
        percent = 100 * self.done // max(self.total, 1)
        eta = self.eta(now)
        left = "estimating time left" if eta is None else f"about {clock(eta)} left"
        if self.done == self.total:
            left = "done"
        elif final:
            left = f"stopped: {_n(self.total - self.done, 'segment')} not rendered"
        text = (
            f"{self.done}/{self.total} segments ({percent}%), {clock(now - self.started)} "
            f"elapsed, {left}"
        )
        if width is None:
            return f"ttsbuild: rendering {text}"
        filled = width * self.done // max(self.total, 1)
        return f"rendering [{'#' * filled}{'.' * (width - filled)}] {text}"


class Console:
    """Shows a :class:`Progress` on ``stream`` from a thread until :meth:`stop`."""

    def __init__(
        self,
        progress: Progress,
        stream: IO[str] | None = None,
        tty: bool | None = None,
        interval: float | None = None,
        tick: float = 1.0,  # one look at the store a second: a stat per segment still missing
        now: Callable[[], float] = time.monotonic,
    ):
        self.progress = progress
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        default = float(os.environ.get("TTSBUILD_PROGRESS_SECONDS") or 30)
        self.interval = default if interval is None else interval
        self.tick = tick
        self.now = now
        self.lock = threading.RLock()
        self.drawn = False
        self.last_line = now()
        self.last_done = -1  # segments done at the last plain line
        self.shown = ""  # the bar on screen
        self.closed = False  # the final line is written
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    # ------------------------------------------------------------ drawing
    def clear(self) -> None:
        """Take the bar off the screen (before another line is written)."""
        with self.lock:
            if self.drawn:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
                self.drawn = False

    def update(self, final: bool = False) -> None:
        """Poll the store and show the state; the line is final once every segment is done
        (or at :meth:`stop`): the bar then stays on screen and nothing is redrawn."""
        now = self.now()
        with self.lock:
            if self.closed:
                return
            finished = self.progress.poll(now)
            final = final or not self.progress.pending
            self.closed = final
            if self.tty:
                text = self.progress.line(now, width=24, final=final)
                if text != self.shown or not self.drawn or final:
                    self.stream.write("\r\x1b[K" + text + ("\n" if final else ""))
                    self.stream.flush()
                    self.drawn, self.shown = not final, text
                return
            due = now - self.last_line >= self.interval
            if finished or due or (final and self.progress.done != self.last_done):
                self.last_line, self.last_done = now, self.progress.done
                self.stream.write(self.progress.line(now, final=final) + "\n")
                self.stream.flush()

    # ------------------------------------------------------------ the thread
    def start(self) -> None:
        if not self.tty:
            jobs = len(self.progress.batches_left)
            self.stream.write(
                f"ttsbuild: rendering {_n(self.progress.total, 'segment')} in {jobs} render "
                f"job{'s' if jobs != 1 else ''}\n"
            )
            self.stream.flush()
        _LoggingClearsBar.install(self)
        self.thread = threading.Thread(target=self._run, name="ttsbuild-progress", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.wait(self.tick) and not self.closed:
            self.update()

    def stop(self) -> None:
        """End: the last state as a final line (the bar stays on screen, complete or not)."""
        if self.stopped.is_set():
            return
        self.stopped.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        _LoggingClearsBar.remove()
        self.update(final=True)


class _LoggingClearsBar(logging.Filter):
    """A filter on the log handlers (Snakemake's and ttsbuild's) that clears the bar before a
    record is written: the bar is redrawn on the next tick, below the new line."""

    active: _LoggingClearsBar | None = None
    handlers: list[logging.Handler] = []

    def __init__(self, console: Console):
        super().__init__()
        self.console = console

    def filter(self, record: logging.LogRecord) -> bool:
        self.console.clear()
        return True

    @classmethod
    def install(cls, console: Console) -> None:
        cls.remove()
        if not console.tty:
            return
        cls.active = cls(console)
        cls.handlers = [
            h
            for name in ("snakemake.logging", "ttsbuild")
            for h in logging.getLogger(name).handlers
        ]
        for handler in cls.handlers:
            handler.addFilter(cls.active)

    @classmethod
    def remove(cls) -> None:
        if cls.active is not None:
            for handler in cls.handlers:
                handler.removeFilter(cls.active)
        cls.active, cls.handlers = None, []


# ------------------------------------------------------------ what this invocation runs


def _dag_jobs(workflow: Any, needrun: bool) -> list[Any] | None:
    """The jobs of Snakemake's DAG (those that run, or all of them); None when unknown."""
    try:
        dag = workflow.dag
        return list(dag.needrun_jobs() if needrun else dag.jobs)
    except Exception:  # noqa: BLE001 - Snakemake internals: fall back to the whole project
        return None


def scheduled_batches(build: Build, workflow: Any) -> list[str]:
    """The render batches this invocation runs (its targets' missing segments)."""
    jobs = _dag_jobs(workflow, needrun=True)
    if jobs is None:
        return sorted(build.batches)
    names = {str(j.rule.name) for j in jobs}
    return sorted(b for b in build.batches if f"render_{b}" in names)


def target_episodes(build: Build, workflow: Any) -> list[str]:
    """The episodes this invocation's targets need (every planned one when that is unknown)."""
    names = {
        str(j.wildcards_dict.get("episode"))
        for j in _dag_jobs(workflow, needrun=False) or ()
        if j.rule.name in ("assemble", "assets", "encode") and j.wildcards_dict.get("episode")
    }
    return sorted(n for n in names if n in build.plans) if names else sorted(build.plans)


def _stored(store: Path, key: str) -> bool:
    return segment_path(store, key).exists()


def start_progress(build: Build, workflow: Any) -> Console | None:
    """Show the progress of this invocation's render jobs (None: nothing to render)."""
    items = [
        Item(functools.partial(_stored, build.store, job.final_key), len(job.request.text), bid)
        for bid in scheduled_batches(build, workflow)
        for job in build.batches[bid].jobs
    ]
    if not items:
        return None
    console = Console(Progress(items, time.monotonic()))
    console.start()
    return console
