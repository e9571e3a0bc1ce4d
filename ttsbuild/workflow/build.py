"""The build: every episode planned once per Snakemake process, and the missing segments
grouped into render batches.

The main Snakemake process plans every episode once per invocation, writes each episode's plan
to ``build/plans/<episode>.json`` (only when it changed, so an unchanged project stays a no-op),
and groups the segments missing from the store into render batches. Each batch becomes one
render job whose outputs are its segment files; segments already in the store never enter the
DAG, which keeps a no-op at thousands of segments near the cost of a stat per file.

Job processes that Snakemake starts elsewhere (cluster executors) read the frozen batch
manifests instead of re-planning, so they see exactly the batches the main process defined.

Imports: every stage up to rendering (this is the top of the pipeline, with the CLI).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import ttsbuild.config.schema as schema
import ttsbuild.workflow.plan_cache as plan_cache
from ttsbuild.config.project import Project, project_from_config
from ttsbuild.config.schema import DEFAULT_CONFIG_FILE
from ttsbuild.config.settings import OutputSettings
from ttsbuild.core import content
from ttsbuild.core.errors import TTSBuildError
from ttsbuild.core.ffmpeg import VIDEO_SUFFIXES
from ttsbuild.core.fsutil import write_text_atomic, write_text_if_changed
from ttsbuild.planning.plan import SYNTHESIZE, EpisodePlan
from ttsbuild.planning.planner import Planner
from ttsbuild.rendering import server
from ttsbuild.rendering.batch import Batch, RenderJob
from ttsbuild.rendering.pool import render_parallel
from ttsbuild.store.segments import is_stored, segment_path
from ttsbuild.workflow.lock import STATE_DIR

log = logging.getLogger("ttsbuild")

PLAN_DIR = "build/plans"


def asset_folder(project: Project, episode: str) -> Path:
    """Where an episode's voice assets go (``assets.folder``, resolved in the project)."""
    folder = project.assets.folder.format(episode=episode)
    return project.resolve_path(folder, "assets.folder", "assets.folder")


class Build:
    """Everything the Snakefile needs, computed once per Snakemake process."""

    def __init__(
        self,
        config: dict[str, Any],
        main_process: bool = True,
        root: str = ".",
        config_file: str = DEFAULT_CONFIG_FILE,
    ):
        self.state = Path(root).resolve() / STATE_DIR
        content.use_cache(self.state / "hashes.json")
        self.plans: dict[str, EpisodePlan] = {}
        self.jobs: dict[str, RenderJob] = {}  # by final key
        self.missing: set[str] = set()  # stage outputs missing when the build planned
        self.batches: dict[str, Batch] = {}
        self.started = time.time()
        self.reported = False
        self.planned_at = str(time.time_ns())  # see rules/render.smk
        self.reused_plans = False  # the plans of the last planning, nothing having changed
        if main_process:
            self.project: Project = self._plan_or_reuse(config, root, config_file)
            self.store = self.project.store
            self._plan()
            self._freeze()
        else:
            self.project = project_from_config(config, root, config_file)
            self.store = self.project.store
            self._thaw()
        content.active_cache().save()

    # ---------------------------------------------------------------- planning
    def _plan_or_reuse(self, config: dict[str, Any], root: str, config_file: str) -> Project:
        """The project, and every episode's plan: reused when nothing planning looked at has
        changed (:mod:`ttsbuild.workflow.plan_cache`), else planned while recording what it
        looks at, and the plan files written (only when changed, so a no-op stays one)."""
        cache_file = self.state / plan_cache.CACHE_FILE
        key = plan_cache.cache_key(config, self.state.parent.parent, config_file)
        entry = plan_cache.load(cache_file, key)
        if entry is not None:
            project = self._reuse(entry, config, root, config_file)
            if project is not None:
                return project
        excluded = frozenset(map(str, (self.state / "hashes.json", cache_file)))
        self.state.mkdir(parents=True, exist_ok=True)  # before: planning looks at build/
        began = time.time_ns()
        with plan_cache.recording(excluded) as seen, plan_cache.capturing_logs() as logs:
            seen.note(schema.SCHEMA_PATH)  # the reused validations' input, read once per process
            project = project_from_config(config, root, config_file)
            planner = Planner(project)
            for name in project.episodes:
                self.plans[name] = planner.plan_episode(name)
            self._check_assets(project)
        written: dict[str, tuple[str, plan_cache.Status]] = {}
        for name, plan in self.plans.items():
            data = dict(plan.to_dict(), output=project.output.to_dict())
            plan_path = str(project.root / self.plan_file(name))
            # compact: the C encoder (indent would use the pure-Python one: 0.6 s at 5,000 lines)
            write_text_if_changed(plan_path, json.dumps(data, separators=(",", ":")) + "\n")
            written[name] = (plan_path, plan_cache.status(plan_path))
        refused = seen.uncacheable
        if not refused and key is None:
            refused = "the config is not plain JSON (a date, a number or null as a key)"
        if not refused and (recent := plan_cache.racy(seen.seen, began)):
            refused = f"{recent} changed just before planning began"
        if refused:
            log.debug("ttsbuild: plans not kept: %s", refused)
            plan_cache.forget(cache_file)
        else:
            assert key is not None
            done = schema.validations()
            entry = plan_cache.Entry(key, seen.seen, written, logs.records, done)
            plan_cache.save(cache_file, entry)
        return project

    def _reuse(
        self, entry: plan_cache.Entry, config: dict[str, Any], root: str, config_file: str
    ) -> Project | None:
        """The project with the entry's plans, or None when a plan file cannot be read back
        (then the project is planned again, as when anything changed)."""
        schema.reuse_validations(entry.validations)  # the config is not validated again
        project = project_from_config(config, root, config_file)
        try:
            for name, (path, _) in entry.plans.items():
                data = json.loads(Path(path).read_text("utf-8"))
                data.pop("output")  # the plan file's addition, not the plan's
                self.plans[name] = EpisodePlan.from_dict(data)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.debug("ttsbuild: re-planning: a kept plan cannot be read back: %r", exc)
            self.plans.clear()
            return None
        log.debug("ttsbuild: plans reused: nothing planning looked at has changed")
        self.reused_plans = True
        for logger, level, message in entry.logs:
            logging.getLogger(logger).log(level, "%s", message)
        return project

    def _plan(self) -> None:
        """Group the segments missing from the store into render batches."""
        size = self.project.batch_size
        claimed: set[str] = set()  # stage outputs some job will create
        for name, plan in self.plans.items():
            missing: dict[str, list[RenderJob]] = {}  # per engine: one batch needs one model
            for seg in plan.segments():
                chain = seg.chain()
                if seg.key in claimed or is_stored(self.store, seg.key):
                    continue
                todo: list[tuple[str, str]] = []  # from the last stored output on
                for kind, key in reversed(chain):
                    if is_stored(self.store, key):
                        break
                    todo.insert(0, (kind, key))
                self.missing.update(key for _, key in todo)
                outputs = tuple(key for _, key in todo if key not in claimed)
                claimed.update(outputs)
                job = RenderJob(
                    chain[0][1],
                    seg.request,
                    f"{plan.source}:{seg.line}",
                    seg.speaker,
                    seg.post,
                    outputs,
                    seg.uid,
                )
                self.jobs[seg.key] = job
                missing.setdefault(self._batch_group(job, todo), []).append(job)
            for engine, jobs_of_engine in missing.items():
                for start in range(0, len(jobs_of_engine), size):
                    jobs = tuple(jobs_of_engine[start : start + size])
                    bid = Batch.make_id([k for j in jobs for k in j.outputs])
                    self.batches[bid] = Batch(bid, name, engine, jobs)
        self._write_pending()

    def pending_file(self, episode: str) -> str:
        return f"{STATE_DIR}/pending/{episode}.json"

    def _write_pending(self) -> None:
        """For each episode with a segment missing from the store, a small file new in content
        each build (the missing keys, this build's time), made an input of its assembly: so
        Snakemake assembles it again and renders the missing inputs first. Without it
        Snakemake skips a render job whose output it has no record of (a new or emptied
        store) while the episode looks up to date, and the store would never be filled; a
        touched plan file would not do, as Snakemake compares the checksums of small inputs."""
        for name, plan in self.plans.items():
            keys = sorted({s.key for s in plan.segments() if s.key in self.missing})
            if keys:
                data = {"planned_at": self.planned_at, "missing": keys}
                write_text_atomic(self.project.root / self.pending_file(name), json.dumps(data))

    def asset_folder(self, episode: str) -> Path:
        """Where an episode's voice assets go (``assets.folder``, resolved in the project)."""
        return asset_folder(self.project, episode)

    def _check_assets(self, project: Project) -> None:
        """Voice-asset file names are checked with the plan, before any render: a collision,
        an id too long or a file over another target's output stops the build here."""
        from ttsbuild.delivery.asset_plan import check_asset_plans

        folders = {name: asset_folder(project, name) for name in self.plans}
        check_asset_plans(self.plans, project.assets, folders, project.root / "out")

    @staticmethod
    def _batch_group(job: RenderJob, todo: list[tuple[str, str]]) -> str:
        """The model a job needs: its engine when it synthesizes, else its converter, else
        none ("effects": post stages that need no model batch together)."""
        if todo[0][0] == SYNTHESIZE:
            return job.request.engine
        converters = [s.stage.engine for s in job.post if s.stage.kind == "convert"]
        return converters[0] if converters else "effects"

    def _freeze(self) -> None:
        """Write the batch manifests for job processes that cannot re-plan identically."""
        if not self.batches:
            return
        for batch in self.batches.values():
            batch.write(self.state / "batches")
        write_text_atomic(self.state / "batches.json", json.dumps(sorted(self.batches)))

    def _thaw(self) -> None:
        try:
            ids = json.loads((self.state / "batches.json").read_text("utf-8"))
        except (OSError, ValueError):
            ids = []
        for bid in ids:
            batch = Batch.read(self.state / "batches", bid)
            if batch is None:
                continue
            self.batches[bid] = batch
            self.jobs.update((j.final_key, j) for j in batch.jobs)

    # ---------------------------------------------------------------- rule helpers
    def plan_file(self, episode: str) -> str:
        return f"{PLAN_DIR}/{episode}.json"

    def segment_file(self, key: str) -> str:
        path = segment_path(self.store, key)
        try:
            return str(path.relative_to(self.project.root))
        except ValueError:
            return str(path)

    def missing_segment_files(self, episode: str) -> list[str]:
        """The episode's segments this build renders (each one a render job's output), in
        plan order, once each, and then its pending file (:meth:`_write_pending`). Stored
        segments are not inputs: the plan file lists every key, so Snakemake links assembly
        to the render jobs without a stat and a DAG node per stored segment (a no-op at
        5,000 lines spent about 0.4 s on them)."""
        plan = self.plans.get(episode)
        if plan is None:
            return []
        keys = dict.fromkeys(s.key for s in plan.segments() if s.key in self.missing)
        files = [self.segment_file(k) for k in keys]
        return [*files, self.pending_file(episode)] if files else []

    # Snakemake input functions (called with the job's wildcards).
    def plan_input(self, wildcards: Any) -> str:
        return self.plan_file(wildcards.episode)

    def segments_input(self, wildcards: Any) -> list[str]:
        return self.missing_segment_files(wildcards.episode)

    def assets_params(self, wildcards: Any) -> str:
        """The asset settings as one string (a change re-runs the assets rule)."""
        return json.dumps(self.project.assets.to_dict(), sort_keys=True)

    def batch_outputs(self, batch_id: str) -> list[str]:
        return [self.segment_file(k) for k in self.batches[batch_id].keys]

    def batch_resources(self, batch_id: str) -> dict[str, int | str]:
        """Snakemake resources for a render job, from its engine's config."""
        return dict(self.project.resources.get(self.batches[batch_id].engine, {}))

    def render_batch(self, batch_id: str, outputs: list[str] | None = None) -> None:
        """Render a batch into the directory of its declared outputs: that is the store, or
        the local copy of it that a Snakemake storage plugin maps the outputs to."""
        jobs = list(self.batches[batch_id].jobs)
        store = self.store
        if outputs:
            store = Path(outputs[0]).parent.resolve()
            expected = [f"{k}.wav" for k in self.batches[batch_id].keys]
            if [Path(o).name for o in outputs] != expected or any(
                Path(o).parent.resolve() != store for o in outputs
            ):
                raise TTSBuildError(f"render batch {batch_id}: outputs do not match its plan")
        runtime = self.project.runtimes.get(self.batches[batch_id].engine)
        if runtime is not None:  # the engine renders in its own runtime, never in this process
            from ttsbuild.rendering.worker import render_in_runtime

            engine = self.batches[batch_id].engine
            n = render_in_runtime(
                engine, runtime, jobs, store, self.project.engines, self.project.qa
            )
            log.info("ttsbuild: %s's runtime rendered %d of %d segments", engine, n, len(jobs))
            return
        settings = self.project.render_server
        mode = os.environ.get("TTSBUILD_SERVER") or settings.mode
        socket = server.connect(self.project.root, mode, settings.idle_seconds)
        if socket is not None:
            try:
                n = server.render_remote(socket, jobs, store, self.project.engines, self.project.qa)
            except server.ServerBusy as exc:  # one warning, then the batch renders here
                if mode == "on":
                    raise
                log.warning("ttsbuild: render server is busy (%s); rendering here instead", exc)
            else:
                log.info("ttsbuild: rendered %d of %d segments via render server", n, len(jobs))
                return
        # in this process, or in render workers (rendering/pool.py)
        from ttsbuild.assembly.clips import PrepareClip  # the workers prepare clips early

        mem_mb = self.project.resources.get(self.batches[batch_id].engine, {}).get("mem_mb")
        render_parallel(
            jobs,
            store,
            self.project.engines,
            self.project.qa,
            int(mem_mb) if mem_mb is not None else None,
            PrepareClip(self.output_settings(), self.state / "clips"),
        )

    def bed(self, episode: str) -> dict[str, Any]:
        """The episode's ``bed:`` (validated, defaults filled), or a clear error."""
        entry = self.project.episodes.get(episode)
        bed = entry.options.get("bed") if entry is not None else None
        if not bed:
            raise TTSBuildError(
                f"out/{episode}.mix.wav: episode '{episode}' has no 'bed:' in "
                f"{self.project.config_file} (docs/mixing.md)"
            )
        return dict(bed)

    def mixes(self) -> list[str]:
        """The mixes the default target builds: one per episode with a bed."""
        return [
            f"out/{n}.mix.wav" for n, e in self.project.episodes.items() if e.options.get("bed")
        ]

    def bed_input(self, wildcards: Any) -> str:
        key = f"episodes.{wildcards.episode}.bed.file"
        return str(self.project.resolve_path(self.bed(wildcards.episode)["file"], "bed", key))

    def bed_params(self, wildcards: Any) -> str:
        """The bed settings and the output settings as one string (a change mixes again)."""
        return json.dumps(
            {"bed": self.bed(wildcards.episode), "output": self.output_settings().to_dict()},
            sort_keys=True,
        )

    def video_input(self, wildcards: Any) -> str:
        path = self.bed_input(wildcards)
        if Path(path).suffix.lower() not in VIDEO_SUFFIXES:
            raise TTSBuildError(
                f"out/{wildcards.episode}.mp4: the bed of '{wildcards.episode}' is not a video "
                f"({Path(path).name}); an .mp4 is muxed from a video bed (docs/mixing.md)"
            )
        return path

    def encode_params(self, wildcards: Any) -> str:
        """What an encode job's file depends on besides its WAV: the title and bit rates."""
        episode = self.project.episodes.get(wildcards.episode)
        title = episode.title if episode is not None else ""
        return json.dumps({"title": title, **self.project.delivery.to_dict()}, sort_keys=True)

    def output_settings(self) -> OutputSettings:
        return self.project.output
