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

import hashlib
import json
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import content
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


def fail(exc: TTSBuildError) -> None:
    """Report a user error as one line and stop (no traceback), as at parse time."""
    sys.stderr.write(f"ttsbuild: error: {exc}\n")
    if os.environ.get("TTSBUILD_DEBUG"):
        raise exc
    sys.exit(1)


@dataclass(frozen=True)
class Batch:
    id: str
    episode: str
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
            missing: list[str] = []
            for seg in plan.segments():
                if seg.key in assigned:
                    continue
                if segment_path(self.store, seg.key).exists():
                    continue
                assigned.add(seg.key)
                self.jobs[seg.key] = RenderJob(
                    seg.key, seg.request, f"{plan.source}:{seg.line}", seg.speaker
                )
                missing.append(seg.key)
            for start in range(0, len(missing), size):
                keys = tuple(missing[start : start + size])
                bid = hashlib.sha256(" ".join(keys).encode()).hexdigest()[:12]
                self.batches[bid] = Batch(bid, name, keys)

    def _freeze(self) -> None:
        """Write the batch manifests for job processes that cannot re-plan identically."""
        if not self.batches:
            return
        for batch in self.batches.values():
            manifest = {
                "id": batch.id,
                "episode": batch.episode,
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
            self.batches[bid] = Batch(bid, manifest["episode"], tuple(keys))

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

    def render_batch(self, batch_id: str) -> None:
        jobs = [self.jobs[k] for k in self.batches[batch_id].keys]
        render_jobs(jobs, self.store, self.project.engines)

    def output_settings(self) -> OutputSettings:
        return self.project.output


def render_batch(build: Build, batch_id: str) -> None:
    build.render_batch(batch_id)


def assemble(build: Build, plan_file: str, wav: str, srt: str, timing: str) -> None:
    from .assemble import assemble_episode

    assemble_episode(plan_file, build.store, build.output_settings(), wav, srt, timing)


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


def load_build(config: Mapping[str, Any], main_process: bool) -> Build:
    """Build the plan for the Snakefile; a user error ends the run with one clear line."""
    setup_logging()
    try:
        return Build(dict(config), main_process)
    except TTSBuildError as exc:
        fail(exc)
        raise  # unreachable: fail() exits
