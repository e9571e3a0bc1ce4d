"""The Snakefile's one entry point: every rule body is one call of a function here.

Owns: the build's life cycle inside Snakemake (read the config once, plan, freeze batches,
render a batch, assemble, encode, report at the end). The logic lives in the stages; these
functions only connect them to Snakemake's objects.

May import: every stage (this is the top of the pipeline, with :mod:`ttsbuild.cli`).
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ttsbuild.config.schema import DEFAULT_CONFIG_FILE, read_config_file
from ttsbuild.core.errors import TTSBuildError
from ttsbuild.rendering.render import check_not_stopped, request_stop, stop_requested
from ttsbuild.workflow.build import Build
from ttsbuild.workflow.installed import snakefile
from ttsbuild.workflow.lock import claim_workdir
from ttsbuild.workflow.logs import (
    fail,
    job_log,
    quiet_snakemake_restore_warnings,
    setup_logging,
    snakemake_failed,
    watch_snakemake_errors,
)
from ttsbuild.workflow.progress import Console, start_progress, target_episodes

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
    "snakefile",
    "start",
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
        if main:
            check_targets(build, _requested_targets(workflow))
    except TTSBuildError as exc:
        fail(exc)
        raise  # unreachable: fail() exits
    except Exception as exc:  # a bug: still one ttsbuild line, never a bare traceback
        if os.environ.get("TTSBUILD_DEBUG"):
            raise
        fail(
            TTSBuildError(
                f"internal error while planning: {type(exc).__name__}: {exc} (a bug in ttsbuild: "
                "please report it; TTSBUILD_DEBUG=1 shows the traceback)"
            )
        )
        raise  # unreachable: fail() exits
    if main and workflow is not None:
        _snakemake_workflow[:] = [workflow]
        atexit.register(_exit_interrupted)  # runs after the report below (last in, first out)
        watch_snakemake_errors()
        atexit.register(_report_at_exit, build, workflow)
    if main and build.batches and not getattr(workflow, "dryrun", False):
        # New segments mean new clips to measure at assembly: import the loudness meter
        # (scipy, about a second) while Snakemake schedules and the engines render.
        threading.Thread(target=_warm_assembly_imports, daemon=True).start()
    return build


_EPISODE_TARGET = re.compile(
    r"^out/([^/]+?)\.(?:assets-changes\.json|assets\.json|report\.json|timing\.json|stems\.json|mix\.wav|mix\.json|mp4|wav|srt|flac|mp3|ogg)$"
)


def _requested_targets(workflow: Any) -> list[str]:
    """The episode files asked for: Snakemake parses the Snakefile before it records its
    targets, so the command line is read here (only words shaped like ``out/<name>.<ext>``)."""
    settings = getattr(workflow, "dag_settings", None)
    targets = [str(t) for t in (getattr(settings, "targets", None) or ())]
    if not targets and Path(sys.argv[0]).name in ("snakemake", "__main__.py"):
        targets = [a for a in sys.argv[1:] if _EPISODE_TARGET.match(a.removeprefix("./"))]
    return sorted(targets)


def check_targets(build: Build, targets: list[str]) -> None:
    """A target naming an episode the config does not have is one clear error (not Snakemake's
    MissingInputException, and no build report overwritten)."""
    for target in targets:
        m = _EPISODE_TARGET.match(target.removeprefix("./"))
        if m and m.group(1) not in build.project.episodes and m.group(1) != "build-report":
            episodes = ", ".join(sorted(build.project.episodes))
            raise TTSBuildError(
                f"{target}: no episode '{m.group(1)}' in {build.project.config_file} "
                f"(episodes: {episodes})"
            )


def _warm_assembly_imports() -> None:
    with contextlib.suppress(Exception):
        import pyloudnorm  # noqa: F401


_FAULTS = {
    errno.ENOSPC: "no space left on the device; free some space and build again",
    errno.EDQUOT: "disk quota exceeded; free some space and build again",
    errno.EROFS: "read-only file system; make it writable (or set 'store:' to a writable "
    "folder) and build again",
    errno.EACCES: "permission denied; fix the folder's permissions and build again",
    errno.EPERM: "operation not permitted; fix the folder's permissions and build again",
}


@contextlib.contextmanager
def _one_line_errors(what: str, say_domain_errors: bool = True) -> Iterator[None]:
    """A rule body's failure as one ttsbuild line naming the file and the fix (Snakemake still
    fails the job); machine faults (disk full, read-only store) become TTSBuildErrors. Nothing
    stored is lost: every write is atomic."""
    try:
        yield
    except TTSBuildError as exc:
        if say_domain_errors:  # the render loop names each failing line itself
            log.error("ttsbuild: error: %s", exc)
        raise
    except OSError as exc:
        fix = _FAULTS.get(exc.errno or 0)
        if fix is None:
            raise
        where = exc.filename or what
        error = TTSBuildError(f"{where}: {fix} (stored segments are kept)")
        log.error("ttsbuild: error: %s", error)
        raise error from None


def render_batch(
    build: Build, batch_id: str, outputs: list[str] | None = None, log_file: str | None = None
) -> None:
    with job_log(log_file), _one_line_errors(f"render batch {batch_id}", say_domain_errors=False):
        build.render_batch(batch_id, outputs)


def assemble(
    build: Build, plan_file: str, wav: str, srt: str, timing: str, log_file: str | None = None
) -> None:
    from ttsbuild.assembly.assemble import assemble_episode

    with job_log(log_file), _one_line_errors(wav):
        check_not_stopped(f"assembling {wav}")
        assemble_episode(
            plan_file,
            build.store,
            build.output_settings(),
            wav,
            srt,
            timing,
            build.state / "clips",
        )


def stems(build: Build, plan_file: str, index: str, log_file: str | None = None) -> None:
    """An episode's stems: one file per character on its timeline, and their index."""
    from ttsbuild.assembly.stems import write_stems

    with job_log(log_file), _one_line_errors(index):
        check_not_stopped(f"writing the stems of {index}")
        write_stems(plan_file, build.store, build.output_settings(), index, build.state / "clips")


def mix(
    build: Build, episode: str, wav: str, bed: str, out: str, report: str, log_file: str | None
) -> None:
    """The episode's speech over its bed, ducked (docs/mixing.md)."""
    from ttsbuild.assembly.mix import mix_episode

    with job_log(log_file), _one_line_errors(out):
        check_not_stopped(f"mixing {out}")
        mix_episode(wav, bed, build.bed(episode), build.output_settings(), out, report)


def mux(video: str, audio: str, out: str, log_file: str | None = None) -> None:
    """A copy of the video bed with the mix as its audio track."""
    from ttsbuild.core.ffmpeg import mux_video

    with job_log(log_file), _one_line_errors(out):
        check_not_stopped(f"muxing {out}")
        mux_video(video, audio, out)


def assets(
    build: Build,
    episode: str,
    plan_file: str,
    manifest: str,
    changes: str,
    log_file: str | None = None,
) -> None:
    """Voice assets of one episode: the per-line files, the manifest and the change report."""
    from ttsbuild.delivery.assets import build_assets

    settings = build.project.assets
    with job_log(log_file), _one_line_errors(manifest):
        check_not_stopped(f"writing the assets of {episode}")
        folder = build.asset_folder(episode)
        build_assets(
            plan_file,
            build.store,
            settings,
            build.project.output.chunk_gap_ms,
            folder,
            manifest,
            changes,
        )


def encode(build: Build, episode: str, src: str, dest: str, log_file: str | None = None) -> None:
    from ttsbuild.delivery.encode import transcode

    with job_log(log_file), _one_line_errors(dest):
        check_not_stopped(f"encoding {dest}")
        transcode(src, dest, build.project.delivery, build.project.episodes[episode].title)


_signal_received: list[int] = []
#: Snakemake's workflow object of this (main) process: its DAG says what this invocation runs.
_snakemake_workflow: list[Any] = []
_console: list[Console] = []


def start(build: Build) -> None:
    """Snakemake's ``onstart`` (main process, main thread, after its scheduler has set its own
    SIGTERM handler): take over SIGINT and SIGTERM for the run, and show rendering progress."""
    install_interrupt_handlers()
    console = start_progress(build, _snakemake_workflow[0] if _snakemake_workflow else None)
    _console[:] = [console] if console is not None else []


def stop_progress() -> None:
    """The progress display's last line (before the build's summary)."""
    while _console:
        _console.pop().stop()


def install_interrupt_handlers() -> None:
    """SIGINT/SIGTERM in the main process: every render loop stops between segments (render
    jobs run in Snakemake's thread pool, so the handler only sets a flag they check), the
    scheduler starts no new job (Snakemake's own graceful SIGTERM handler, called for both),
    and the build ends with "interrupted: N rendered and kept, rerun to continue" and exit
    code 130 (SIGINT) or 143 (SIGTERM). A second Ctrl-C aborts at once, the old way."""
    if threading.current_thread() is not threading.main_thread():
        return
    graceful = signal.getsignal(signal.SIGTERM)

    def handler(signum: int, frame: Any) -> None:
        if _signal_received and signum == signal.SIGINT:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        _signal_received.append(signum)
        request_stop()
        log.warning(
            "ttsbuild: %s: stopping after the segments being rendered; finished segments are "
            "kept (Ctrl-C again aborts now)",
            signal.Signals(signum).name,
        )
        if callable(graceful):
            graceful(signum, frame)  # the scheduler's: start no new job

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _exit_interrupted() -> None:
    """At exit, after Snakemake has cleaned up: the exit code of an interrupted build."""
    if _signal_received:
        for handler in logging.getLogger("ttsbuild").handlers:
            handler.flush()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(128 + _signal_received[0])


def release_models() -> None:
    """End of a build: drop every loaded model and free accelerator memory."""
    from ttsbuild.rendering.models import release_models as release
    from ttsbuild.rendering.pool import shutdown

    shutdown()  # render workers
    release()


def _report_at_exit(build: Build, workflow: Any) -> None:
    """Report the runs that end without onsuccess/onerror: "Nothing to be done" (a success),
    and Snakemake-level failures (missing input, locked directory, disk full), which exit 1
    and must not be reported as a success."""
    executed = getattr(workflow, "executor_plugin", None) is not None
    if executed and not workflow.dryrun and not build.reported:
        with contextlib.suppress(Exception):  # never turn a finished build into a crash
            finish(build, success=not snakemake_failed())


def finish(build: Build, success: bool) -> None:
    """End of a build (Snakemake's onsuccess/onerror): release the models, write the reports."""
    from ttsbuild.reports.report import write_reports

    release_models()
    stop_progress()
    if not build.plans or build.reported:  # job processes on cluster nodes do not report
        return
    build.reported = True
    workflow = _snakemake_workflow[0] if _snakemake_workflow else None
    summary = write_reports(
        build.plans,
        build.store,
        build.missing,
        build.project.root / "out",
        success,
        build.started,
        build.project.qa.enabled,
        interrupted=stop_requested(),
        targets=target_episodes(build, workflow),
    )
    if stop_requested():
        log.warning(
            "ttsbuild: interrupted: %d rendered and kept, rerun to continue",
            summary["rendered_now"],
        )
        return
    log.info("ttsbuild: build %s", build_summary(summary, success))


def build_summary(summary: Mapping[str, Any], success: bool) -> str:
    """The last line: what this invocation's targets needed, then the project's total.

    >>> build_summary({"targets": {"episodes": ["ep1"], "segments_total": 7, "rendered_now": 2,
    ...   "reused": 5, "failed": 0, "stages": {"synthesize": {"ran": 2}}}, "qa_flagged": 0,
    ...   "project": {"episodes": 3, "segments_total": 268}}, True)
    'succeeded: ep1 needed 7 segments: 2 rendered now (ran: synthesize 2), 5 reused, 0 failed, 0 flagged by QA; project: 3 episodes, 268 segments (out/build-report.json)'
    """
    t, p = summary["targets"], summary["project"]
    ran = ", ".join(f"{k} {c['ran']}" for k, c in t["stages"].items() if c["ran"]) or "nothing"
    names = (
        ", ".join(t["episodes"]) if len(t["episodes"]) <= 3 else f"{len(t['episodes'])} episodes"
    )
    return (
        f"{'succeeded' if success else 'FAILED'}: {names or 'nothing'} needed "
        f"{t['segments_total']} segments: {t['rendered_now']} rendered now (ran: {ran}), "
        f"{t['reused']} reused, {t['failed']} failed, {summary['qa_flagged']} flagged by QA; "
        f"project: {p['episodes']} episode{'s' if p['episodes'] != 1 else ''}, "
        f"{p['segments_total']} segments "
        "(out/build-report.json)"
    )
