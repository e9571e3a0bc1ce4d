"""Render workers: a render job's segments spread over several processes of one engine.

An engine declares how it uses cores (``EngineInfo.threads_per_instance``): Piper prefers
several single-threaded ONNX Runtime instances, so a render job on a machine with C cores hands
its segments to C worker processes, each loading the model once and rendering through the same
code as the build's own process (:func:`~ttsbuild.rendering.render.render_jobs`: the store's
locks and atomic writes, the same sidecars). Engines that prefer one instance (torch engines;
on a GPU, inference batches) render in the build's process as before. ``engines.<name>.workers``
overrides the count (1: no workers); auto is bounded by ``engines.<name>.worker_memory_mb``
against the memory available (and the engine's ``resources.mem_mb``). Where a segment renders
never changes its bytes: each instance's thread count is the engine's own (Piper pins it).

The pool lives as long as the build's process (``snakemake -j1`` runs render jobs one after
another in it; each worker keeps its model between them) and ends with :func:`shutdown`. Each
segment is one task; results land as they finish (``landed``: a hook, assembly's clip
preparation, run in the worker right after the segment is stored, so preparing clips overlaps
rendering instead of following the last segment). Workers ignore SIGINT: a
Ctrl-C stops the build between segments (:func:`~ttsbuild.rendering.render.request_stop`), the
segments being rendered finish and are kept. A worker that dies (killed, out of memory) fails
its segment with a clear error; the others are kept.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import resource
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ttsbuild.config.settings import EngineOptions, QASettings
from ttsbuild.core.errors import BuildInterrupted, RenderError, TTSBuildError
from ttsbuild.core.parallel import usable_cpus
from ttsbuild.engines import get_engine
from ttsbuild.rendering.batch import RenderJob
from ttsbuild.rendering.render import render_jobs, stop_requested

log = logging.getLogger(__name__)

#: A hook run in the worker after each segment it stored: ``hook(final_key, store)`` (the
#: build passes assembly's clip preparation). It must not raise, nor change any stored file.
Landed = Callable[[str, Path], None]


@dataclass
class WorkerStats:
    """What one worker process did, for the build report: model loads, segments, peak RSS."""

    engine: str
    loads: int = 0
    segments: int = 0
    peak_rss_mb: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "loads": self.loads,
            "segments": self.segments,
            "peak_rss_mb": round(self.peak_rss_mb, 1),
        }


@dataclass
class _Pool:
    executor: ProcessPoolExecutor
    workers: int
    threads: int
    stats: dict[int, WorkerStats] = field(default_factory=dict)
    warned: set[int] = field(default_factory=set)


_lock = threading.Lock()
_pools: dict[tuple[str, str], _Pool] = {}
#: Every worker of this process's build (pid -> stats), kept after the pools end.
WORKERS: dict[int, WorkerStats] = {}


def available_memory_mb() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def worker_count(
    engine: str, options: EngineOptions, segments: int, mem_mb: int | None = None
) -> tuple[int, int]:
    """(worker processes, threads per instance) for ``segments`` segments of ``engine``;
    1 worker means: render in this process. A configured ``workers`` wins; auto uses the
    engine's preference, the usable cores and the memory bound."""
    try:
        threads = get_engine(engine).info.threads_per_instance
    except TTSBuildError:  # not installed: the render reports it
        return 1, 0
    if options.workers:
        count = options.workers
    elif threads <= 0 or options.device.startswith("cuda"):
        return 1, threads
    else:
        count = max(1, usable_cpus() // threads)
        budgets = [m for m in (available_memory_mb(), mem_mb) if m is not None]
        for budget in budgets:
            count = min(count, max(1, budget // options.worker_memory_mb))
    return max(1, min(count, segments)), threads


def render_parallel(
    jobs: Sequence[RenderJob],
    store: Path,
    engine_options: Mapping[str, EngineOptions],
    qa: QASettings | None = None,
    mem_mb: int | None = None,
    landed: Landed | None = None,
) -> int:
    """Render ``jobs`` (one engine) in render workers where the engine prefers them, else in
    this process; the same files either way. Returns the number rendered; failures raise one
    :class:`RenderError` after every other segment is done, as :func:`render_jobs` does."""
    if not jobs:
        return 0
    engine = jobs[0].request.engine
    options = engine_options.get(engine) or EngineOptions.from_dict({})
    count, threads = worker_count(engine, options, len(jobs), mem_mb)
    if count <= 1:  # no workers: assembly prepares the clips after the last segment
        return render_jobs(jobs, store, engine_options, qa)
    pool = _pool(engine, options, count, threads)
    return _run(pool, engine, jobs, store, engine_options, qa, landed, options)


def _pool(engine: str, options: EngineOptions, count: int, threads: int) -> _Pool:
    key = (engine, options.model)
    with _lock:
        pool = _pools.get(key)
        if pool is not None and pool.workers >= count:
            return pool
        if pool is not None:
            pool.executor.shutdown(wait=True)
        with sigint_blocked():  # its resource tracker starts here
            executor = ProcessPoolExecutor(
                max_workers=count,
                # spawn: never fork a threaded Snakemake process (locks held by other threads)
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
            )
        pool = _pools[key] = _Pool(executor, count, threads)
    log.info(
        "ttsbuild: %s renders in %d worker processes (%s per instance, one model load each)",
        engine,
        count,
        f"{threads} thread(s)" if threads > 0 else "the engine's own threads",
    )
    return pool


def _run(
    pool: _Pool,
    engine: str,
    jobs: Sequence[RenderJob],
    store: Path,
    engine_options: Mapping[str, EngineOptions],
    qa: QASettings | None,
    landed: Landed | None,
    options: EngineOptions,
) -> int:
    """Keep every worker busy (two tasks each in flight), one segment per task."""
    pending = list(reversed(jobs))
    running: dict[Future[dict[str, Any]], RenderJob] = {}
    rendered = 0
    failures: list[str] = []
    while pending or running:
        while pending and len(running) < 2 * pool.workers and not stop_requested():
            job = pending.pop()
            try:
                with sigint_blocked():  # a submit may start a worker process
                    future = pool.executor.submit(_task, job, store, engine_options, qa, landed)
            except BrokenProcessPool:
                failures.append(_died(engine, job))
                continue
            running[future] = job
        if not running:
            break
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            job = running.pop(future)
            try:
                result = future.result()
            except BrokenProcessPool:
                failures.append(_died(engine, job))
                continue
            rendered += result["rendered"]
            _note(pool, engine, result, options)
            if result["error"]:
                failures.append(result["error"])
    if failures and any("worker process died" in f for f in failures):
        _discard(engine, options)
    if stop_requested() and pending:
        log.warning(
            "ttsbuild: interrupted: %d of %d segments of this job rendered and kept",
            rendered,
            len(jobs),
        )
        raise BuildInterrupted(f"interrupted after {len(jobs) - len(pending)} of {len(jobs)}")
    log.info(
        "ttsbuild: rendered %d of %d segments (%s, %d workers)",
        rendered,
        len(jobs),
        engine,
        pool.workers,
    )
    if failures:
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        raise RenderError(f"{failures[0]}{more}")
    return rendered


def _died(engine: str, job: RenderJob) -> str:
    message = (
        f"{job.where} ({job.speaker}): a {engine} render worker process died (killed, or out "
        f"of memory: set engines.{engine}.workers lower or worker_memory_mb higher); the other "
        "segments are kept"
    )
    log.error("ttsbuild: %s", message)
    return message


def _note(pool: _Pool, engine: str, result: dict[str, Any], options: EngineOptions) -> None:
    """Re-log the worker's warnings here (into the job's log) and keep its stats."""
    for level, name, message in result["records"]:
        logging.getLogger(name).log(level, "%s", message)
    pid = int(result["pid"])
    stats = pool.stats.setdefault(pid, WorkerStats(engine))
    stats.loads = int(result["loads"])
    stats.segments += int(result["rendered"])
    stats.peak_rss_mb = max(stats.peak_rss_mb, float(result["peak_rss_mb"]))
    WORKERS[pid] = stats
    if stats.peak_rss_mb > options.worker_memory_mb and pid not in pool.warned:
        pool.warned.add(pid)
        log.warning(
            "ttsbuild: a %s render worker peaked at %.0f MB, over engines.%s.worker_memory_mb "
            "(%d): raise it, or fewer workers may be started than memory allows",
            engine,
            stats.peak_rss_mb,
            engine,
            options.worker_memory_mb,
        )


def _discard(engine: str, options: EngineOptions) -> None:
    with _lock:
        pool = _pools.pop((engine, options.model), None)
    if pool is not None:
        pool.executor.shutdown(wait=False, cancel_futures=True)


def shutdown() -> None:
    """End every render worker (end of build); their stats stay in :data:`WORKERS`."""
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.executor.shutdown(wait=True, cancel_futures=True)


def worker_report() -> dict[str, Any]:
    """The build report's ``render_workers``: per engine, workers, model loads, peak RSS."""
    out: dict[str, Any] = {}
    for stats in WORKERS.values():
        entry = out.setdefault(
            stats.engine, {"workers": 0, "model_loads": 0, "segments": 0, "peak_rss_mb": []}
        )
        entry["workers"] += 1
        entry["model_loads"] += stats.loads
        entry["segments"] += stats.segments
        entry["peak_rss_mb"].append(round(stats.peak_rss_mb, 1))
    return out


# --- in the worker process -------------------------------------------------------------------


class _Capture(logging.Handler):
    """Collects the worker's log (info and up) for the build's process to log, except the
    render loop's per-task count (the pool logs one for the job)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[tuple[int, str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if not message.startswith("ttsbuild: rendered "):
            self.records.append((record.levelno, record.name, message))


_capture = _Capture()


@contextlib.contextmanager
def sigint_blocked() -> Iterator[None]:
    """SIGINT blocked in this thread while worker processes may be started: they inherit the
    mask, so a Ctrl-C (sent to the whole process group) that lands while a worker is still
    starting waits until :func:`_init_worker` ignores it. Before, such a worker died of it
    inside Python's start-up and the pool hung (CPython's ProcessPoolExecutor, spawn): the
    build never exited (2 hangs in 40 such interrupts; 0 in 80 with the mask)."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _init_worker() -> None:
    from ttsbuild.rendering.worker import _die_with_parent

    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the build stops us between segments
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked until now
    root = logging.getLogger("ttsbuild")
    root.addHandler(_capture)
    root.setLevel(logging.INFO)
    root.propagate = False


def _task(
    job: RenderJob,
    store: Path,
    engine_options: Mapping[str, EngineOptions],
    qa: QASettings | None,
    landed: Landed | None,
) -> dict[str, Any]:
    from ttsbuild.rendering.models import LOAD_COUNTS

    _capture.records = []
    error = None
    rendered = 0
    try:
        rendered = render_jobs([job], store, engine_options, qa)
        if landed is not None and rendered:
            landed(job.final_key, store)
    except TTSBuildError as exc:
        error = str(exc)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "pid": os.getpid(),
        "rendered": rendered,
        "error": error,
        "records": _capture.records,
        "loads": sum(LOAD_COUNTS.values()),
        "peak_rss_mb": peak_kb / 1024,
    }
