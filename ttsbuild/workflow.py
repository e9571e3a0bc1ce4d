"""Glue between the Snakefile and the package: a frozen build plan the rules read from.

The main Snakemake process plans every episode once per invocation, writes each episode's plan
to ``build/plans/<episode>.json`` (only when it changed, so an unchanged project stays a no-op),
and groups the segments missing from the store into render batches. Each batch becomes one
render job whose outputs are its segment files; segments already in the store never enter the
DAG, which keeps a no-op at thousands of segments near the cost of a stat per file.

Job processes that Snakemake starts elsewhere (cluster executors) read the frozen batch
manifests instead of re-planning, so they see exactly the batches the main process defined.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import content, server
from .config import (
    OutputSettings,
    Project,
    project_from_config,
    read_config_file,
    validate_config,
)
from .errors import TTSBuildError
from .fsutil import write_text_atomic, write_text_if_changed
from .plan import EpisodePlan, Planner, request_from_dict, request_to_dict
from .render import RenderJob, render_jobs
from .store import segment_path

log = logging.getLogger("ttsbuild")

STATE_DIR = "build/.ttsbuild"
PLAN_DIR = "build/plans"


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


@dataclass(frozen=True)
class Batch:
    id: str
    episode: str
    engine: str
    keys: tuple[str, ...]


class Build:
    """Everything the Snakefile needs, computed once per Snakemake process."""

    def __init__(self, config: dict[str, Any], main_process: bool = True, root: str = "."):
        self.project: Project = project_from_config(config, root)
        content.use_cache(self.project.root / STATE_DIR / "hashes.json")
        self.state = self.project.root / STATE_DIR
        self.store = self.project.store
        self.plans: dict[str, EpisodePlan] = {}
        self.jobs: dict[str, RenderJob] = {}
        self.batches: dict[str, Batch] = {}
        self.started = time.time()
        self.reported = False
        self.planned_at = str(time.time_ns())  # see rules/render.smk
        if main_process:
            self._plan()
            self._freeze()
        else:
            self._thaw()
        content.active_cache().save()

    # ---------------------------------------------------------------- planning
    def _plan(self) -> None:
        planner = Planner(self.project)
        for name in self.project.episodes:
            plan = planner.plan_episode(name)
            self.plans[name] = plan
            data = dict(plan.to_dict(), output=self.project.output.to_dict())
            write_text_if_changed(self.plan_file(name), json.dumps(data, indent=1) + "\n")
        size = self.project.batch_size
        assigned: set[str] = set()
        for name, plan in self.plans.items():
            missing: dict[str, list[str]] = {}  # per engine: one batch needs one model
            for seg in plan.segments():
                if seg.key in assigned:
                    continue
                if segment_path(self.store, seg.key).exists():
                    continue
                assigned.add(seg.key)
                self.jobs[seg.key] = RenderJob(
                    seg.key, seg.request, f"{plan.source}:{seg.line}", seg.speaker
                )
                missing.setdefault(seg.request.engine, []).append(seg.key)
            for engine, keys_of_engine in missing.items():
                for start in range(0, len(keys_of_engine), size):
                    keys = tuple(keys_of_engine[start : start + size])
                    bid = hashlib.sha256(" ".join(keys).encode()).hexdigest()[:12]
                    self.batches[bid] = Batch(bid, name, engine, keys)

    def _freeze(self) -> None:
        """Write the batch manifests for job processes that cannot re-plan identically."""
        if not self.batches:
            return
        for batch in self.batches.values():
            manifest = {
                "id": batch.id,
                "episode": batch.episode,
                "engine": batch.engine,
                "jobs": [
                    {
                        "key": k,
                        "request": request_to_dict(self.jobs[k].request),
                        "where": self.jobs[k].where,
                        "speaker": self.jobs[k].speaker,
                    }
                    for k in batch.keys
                ],
            }
            write_text_if_changed(self.state / "batches" / f"{batch.id}.json", json.dumps(manifest))
        write_text_atomic(self.state / "batches.json", json.dumps(sorted(self.batches)))

    def _thaw(self) -> None:
        try:
            ids = json.loads((self.state / "batches.json").read_text("utf-8"))
        except (OSError, ValueError):
            ids = []
        for bid in ids:
            try:
                manifest = json.loads((self.state / "batches" / f"{bid}.json").read_text("utf-8"))
            except (OSError, ValueError):
                continue
            keys = []
            for j in manifest["jobs"]:
                self.jobs[j["key"]] = RenderJob(
                    j["key"], request_from_dict(j["request"]), j["where"], j["speaker"]
                )
                keys.append(j["key"])
            self.batches[bid] = Batch(bid, manifest["episode"], manifest["engine"], tuple(keys))

    # ---------------------------------------------------------------- rule helpers
    def plan_file(self, episode: str) -> str:
        return f"{PLAN_DIR}/{episode}.json"

    def segment_file(self, key: str) -> str:
        path = segment_path(self.store, key)
        try:
            return str(path.relative_to(self.project.root))
        except ValueError:
            return str(path)

    def segment_files(self, episode: str) -> list[str]:
        plan = self.plans.get(episode)
        if plan is None:
            return []
        return [self.segment_file(s.key) for s in plan.segments()]

    # Snakemake input functions (called with the job's wildcards).
    def plan_input(self, wildcards: Any) -> str:
        return self.plan_file(wildcards.episode)

    def segments_input(self, wildcards: Any) -> list[str]:
        return self.segment_files(wildcards.episode)

    def batch_outputs(self, batch_id: str) -> list[str]:
        return [self.segment_file(k) for k in self.batches[batch_id].keys]

    def batch_resources(self, batch_id: str) -> dict[str, int | str]:
        """Snakemake resources for a render job, from its engine's config."""
        return dict(self.project.resources.get(self.batches[batch_id].engine, {}))

    def render_batch(self, batch_id: str, outputs: list[str] | None = None) -> None:
        """Render a batch into the directory of its declared outputs: that is the store, or
        the local copy of it that a Snakemake storage plugin maps the outputs to."""
        jobs = [self.jobs[k] for k in self.batches[batch_id].keys]
        store = self.store
        if outputs:
            store = Path(outputs[0]).parent.resolve()
            expected = [f"{k}.wav" for k in self.batches[batch_id].keys]
            if [Path(o).name for o in outputs] != expected or any(
                Path(o).parent.resolve() != store for o in outputs
            ):
                raise TTSBuildError(f"render batch {batch_id}: outputs do not match its plan")
        settings = self.project.render_server
        mode = os.environ.get("TTSBUILD_SERVER") or settings.mode
        socket = server.connect(self.project.root, mode, settings.idle_seconds)
        if socket is None:
            render_jobs(jobs, store, self.project.engines, self.project.qa)
            return
        n = server.render_remote(socket, jobs, store, self.project.engines, self.project.qa)
        log.info("ttsbuild: rendered %d of %d segments via render server", n, len(jobs))

    def output_settings(self) -> OutputSettings:
        return self.project.output


def render_batch(build: Build, batch_id: str, outputs: list[str] | None = None) -> None:
    build.render_batch(batch_id, outputs)


def assemble(build: Build, plan_file: str, wav: str, srt: str, timing: str) -> None:
    from .assemble import assemble_episode

    assemble_episode(
        plan_file, build.store, build.output_settings(), wav, srt, timing, build.state / "clips"
    )


def release_models() -> None:
    """End of a build: drop every loaded model and free accelerator memory."""
    from .models import release_models as release

    release()


def preflight(config_file: str) -> None:
    """Read and validate the project's config file; a user error ends the run with one line."""
    setup_logging()
    path = Path(config_file)
    if not path.exists():
        return  # Snakemake reports a missing config file itself
    try:
        validate_config(read_config_file(path, config_file), config_file, path)
    except TTSBuildError as exc:
        fail(exc)


def load_build(config: Mapping[str, Any], workflow: Any) -> Build:
    """Build the plan for the Snakefile; a user error ends the run with one clear line.

    ``workflow`` is Snakemake's: in its main process the build also reports at exit, which
    covers the runs that end with "Nothing to be done" (Snakemake calls no handler then).
    """
    setup_logging()
    main = bool(getattr(workflow, "is_main_process", True))
    quiet_snakemake_restore_warnings()
    try:
        if main:
            claim_workdir(Path.cwd())
        build = Build(dict(config), main)
    except TTSBuildError as exc:
        fail(exc)
        raise  # unreachable: fail() exits
    if main and workflow is not None:
        atexit.register(_report_at_exit, build, workflow)
    return build


def _report_at_exit(build: Build, workflow: Any) -> None:
    executed = getattr(workflow, "executor_plugin", None) is not None
    if executed and not workflow.dryrun and not build.reported:
        with contextlib.suppress(Exception):  # never turn a finished build into a crash
            finish(build, success=True)


def encode(src: str, dest: str) -> None:
    from .encode import transcode

    transcode(src, dest)


def finish(build: Build, success: bool) -> None:
    """End of a build (Snakemake's onsuccess/onerror): release the models, write the reports."""
    from .report import write_reports

    release_models()
    if not build.plans or build.reported:  # job processes on cluster nodes do not report
        return
    build.reported = True
    summary = write_reports(
        build.plans, build.store, set(build.jobs), build.project.root / "out", success,
        build.started, build.project.qa.enabled,
    )
    log.info(
        "ttsbuild: build %s: %d segments, %d rendered now, %d failed, %d flagged by QA "
        "(out/build-report.json)",
        "succeeded" if success else "FAILED",
        summary["segments_total"],
        summary["rendered_now"],
        summary["failed"],
        summary["qa_flagged"],
    )
