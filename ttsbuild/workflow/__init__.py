"""The Snakefile's one entry point: every rule body is one call of a function here.

Owns: the build's life cycle inside Snakemake (read the config once, plan, freeze batches,
render a batch, assemble, encode, report at the end). The logic lives in the stages; these
functions only connect them to Snakemake's objects.

May import: every stage (this is the top of the pipeline, with :mod:`ttsbuild.cli`).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ttsbuild.config.schema import DEFAULT_CONFIG_FILE, read_config_file
from ttsbuild.core.errors import TTSBuildError
from ttsbuild.workflow.build import Build
from ttsbuild.workflow.lock import claim_workdir
from ttsbuild.workflow.logs import fail, quiet_snakemake_restore_warnings, setup_logging

log = logging.getLogger("ttsbuild")

__all__ = [
    "Build",
    "assemble",
    "assets",
    "encode",
    "finish",
    "load_build",
    "preflight",
    "render_batch",
]

_config_file = DEFAULT_CONFIG_FILE


def preflight(workflow: Any) -> None:
    """Read the config file Snakemake will load (``--configfile`` wins over the default) so
    that a YAML error is one ``file:line`` message, not Snakemake's traceback. Validation
    against the schema happens once, in :func:`load_build`."""
    global _config_file
    setup_logging()
    given = list(getattr(workflow, "overwrite_configfiles", None) or [])
    _config_file = str(given[-1]) if given else DEFAULT_CONFIG_FILE
    for name in given or [DEFAULT_CONFIG_FILE]:
        path = Path(name)
        if not path.exists():
            continue  # Snakemake reports a missing config file itself
        try:
            read_config_file(path, str(name))
        except TTSBuildError as exc:
            fail(exc)


def load_build(config: Mapping[str, Any], workflow: Any) -> Build:
    """Validate the config (the one validation, defaults filled), plan every episode and
    freeze the render batches; a user error ends the run with one clear line.

    ``workflow`` is Snakemake's: in its main process the build also reports at exit, which
    covers the runs that end with "Nothing to be done" (Snakemake calls no handler then).
    """
    setup_logging()
    main = bool(getattr(workflow, "is_main_process", True))
    quiet_snakemake_restore_warnings()
    try:
        if main:
            claim_workdir(Path.cwd())
        build = Build(dict(config), main, config_file=_config_file)
    except TTSBuildError as exc:
        fail(exc)
        raise  # unreachable: fail() exits
    if main and workflow is not None:
        atexit.register(_report_at_exit, build, workflow)
    return build


def render_batch(build: Build, batch_id: str, outputs: list[str] | None = None) -> None:
    build.render_batch(batch_id, outputs)


def assemble(build: Build, plan_file: str, wav: str, srt: str, timing: str) -> None:
    from ttsbuild.assembly.assemble import assemble_episode

    assemble_episode(
        plan_file, build.store, build.output_settings(), wav, srt, timing, build.state / "clips"
    )


def assets(build: Build, episode: str, plan_file: str, manifest: str, changes: str) -> None:
    """Voice assets of one episode: the per-line files, the manifest and the change report."""
    from ttsbuild.delivery.assets import build_assets

    settings = build.project.assets
    try:
        folder = build.project.resolve_path(
            settings.folder.format(episode=episode), "assets.folder", "assets.folder"
        )
        build_assets(
            plan_file,
            build.store,
            settings,
            build.project.output.chunk_gap_ms,
            folder,
            manifest,
            changes,
        )
    except TTSBuildError as exc:
        log.error("ttsbuild: error: %s", exc)
        raise


def encode(src: str, dest: str) -> None:
    from ttsbuild.delivery.encode import transcode

    transcode(src, dest)


def release_models() -> None:
    """End of a build: drop every loaded model and free accelerator memory."""
    from ttsbuild.rendering.models import release_models as release

    release()


def _report_at_exit(build: Build, workflow: Any) -> None:
    executed = getattr(workflow, "executor_plugin", None) is not None
    if executed and not workflow.dryrun and not build.reported:
        with contextlib.suppress(Exception):  # never turn a finished build into a crash
            finish(build, success=True)


def finish(build: Build, success: bool) -> None:
    """End of a build (Snakemake's onsuccess/onerror): release the models, write the reports."""
    from ttsbuild.reports.report import write_reports

    release_models()
    if not build.plans or build.reported:  # job processes on cluster nodes do not report
        return
    build.reported = True
    summary = write_reports(
        build.plans,
        build.store,
        set(build.jobs),
        build.project.root / "out",
        success,
        build.started,
        build.project.qa.enabled,
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
