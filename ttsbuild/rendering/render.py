"""Rendering segments into the store, one model load per process: synthesis, then each post
stage (effects, voice conversion) whose output is missing, each written as its own segment."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ttsbuild.config.settings import EngineOptions, QASettings
from ttsbuild.core.audio import Audio, check_audio
from ttsbuild.core.effects import apply_chain
from ttsbuild.core.errors import BuildInterrupted, EngineError, RenderError, TTSBuildError
from ttsbuild.core.request import PostStage, RenderRequest
from ttsbuild.engines import EngineInfo, get_engine
from ttsbuild.engines.batching import effective_batch_size, plan_batches, synthesize_split
from ttsbuild.planning.key import derive_seed
from ttsbuild.planning.plan import StageOutput
from ttsbuild.rendering.batch import RenderJob
from ttsbuild.rendering.models import get_model
from ttsbuild.rendering.qa import Verdict
from ttsbuild.store.segments import (
    Sidecar,
    clear_failure,
    get_segment,
    put_segment,
    record_failure,
    segment_lock,
    segment_path,
)

log = logging.getLogger(__name__)

#: Set (from a signal handler in the main thread) to stop every render loop between segments.
_stop = threading.Event()


def request_stop() -> None:
    """Ask every render loop of this process to stop before its next segment."""
    _stop.set()


def stop_requested() -> bool:
    return _stop.is_set()


def check_not_stopped(what: str) -> None:
    """Raise :class:`BuildInterrupted` if a stop was requested (before starting ``what``)."""
    if _stop.is_set():
        raise BuildInterrupted(f"interrupted before {what}")


def max_duration(request: RenderRequest) -> float:
    """A generous ceiling on a segment's length; past it the generation ran away."""
    speed = request.param("speed", 1.0) or 1.0
    return 8.0 + 0.35 * len(request.text) / speed


def synthesize(request: RenderRequest, options: EngineOptions, what: str) -> Audio:
    """Synthesize one request; checks the result before returning it. Pitch and effects are
    post stages (:func:`run_stage`), never part of synthesis."""
    model = get_model(request.engine, options)
    try:
        audio = model.synthesize(request)
    except EngineError as exc:  # the engine refused this request ("no Japanese reading"): say where
        raise EngineError(f"{what}: {exc}") from None
    except TTSBuildError:
        raise
    except Exception as exc:  # an engine's own failure, reported with the line
        raise RenderError(f"{what}: engine '{request.engine}' failed: {exc}") from exc
    return finish(audio, request, what)


def finish(audio: Audio, request: RenderRequest, what: str) -> Audio:
    """Check an engine's raw output (alone, or from an inference batch)."""
    check_audio(audio, what=what, max_seconds=max_duration(request))
    return audio


def render_checked(
    job: RenderJob, options: EngineOptions, qa: QASettings | None, raw: Audio | None = None
) -> tuple[Audio, Verdict | None]:
    """Synthesize a job; with QA on, transcribe it and retry with the next derived seeds
    until the word error rate is acceptable, keeping the best attempt. ``raw`` is the engine's
    output for the first attempt when an inference batch already rendered it."""
    what = f"{job.where} ({job.speaker})"
    if raw is not None:
        audio = finish(raw, job.request, what)
    else:
        audio = synthesize(job.request, options, what)
    if qa is None or not qa.enabled:
        return audio, None
    from ttsbuild.rendering.qa import transcribe, word_error_rate

    best: tuple[float, Audio, str, int] | None = None
    attempt = 0
    for attempt in range(1, max(1, qa.attempts) + 1):
        request = job.request
        if attempt > 1:
            request = replace(job.request, seed=derive_seed(job.request.seed, "qa-retry", attempt))
            audio = synthesize(request, options, what)
        heard = transcribe(audio, request.language, qa)
        wer = word_error_rate(request.text, heard, request.language)
        log.info("ttsbuild: QA %s attempt %d: WER %.2f (%r)", what, attempt, wer, heard)
        if best is None or wer < best[0]:
            best = (wer, audio, heard, request.seed)
        if wer <= qa.max_wer:
            break
    assert best is not None
    wer, audio, heard, seed = best
    flagged = wer > qa.max_wer
    if flagged:
        log.warning(
            "ttsbuild: QA flagged %s: WER %.2f after %d attempts, heard %r",
            what,
            wer,
            attempt,
            heard,
        )
    return audio, Verdict(wer, heard, attempt, flagged, seed)


def _synthesized(
    job: RenderJob,
    store: Path,
    options: EngineOptions,
    qa: QASettings | None,
    environment: Mapping[str, Any] | None = None,
    raw: Audio | None = None,
    batch: tuple[int, float] | None = None,
) -> Audio:
    """The synthesis output of ``job``: rendered (under its lock) unless stored already. A
    worker in an engine's runtime passes its ``environment``, which the sidecar keeps; ``raw``
    and ``batch`` (size, seconds) come from an inference batch that rendered it with others."""
    dest = segment_path(store, job.key)
    with segment_lock(store, job.key):
        if dest.exists():  # stored before, or another build rendered it while we waited
            return get_segment(store, job.key)
        started = time.perf_counter()
        audio, verdict = render_checked(job, options, qa, raw)
        seconds = time.perf_counter() - started
        if batch is not None:  # this segment's share of its inference batch
            seconds += batch[1] / batch[0]
        sidecar = Sidecar(
            job.key,
            job.request,
            job.where,
            job.speaker,
            seconds,
            0,  # length, rate and sha256: put_segment fills them from the stored bytes
            0,
            verdict.to_dict() if verdict is not None else None,
            None,
            None,
            environment,
            batch[0] if batch is not None else None,
            uid=job.uid,
        )
        stored = put_segment(store, sidecar, audio)
        log.debug(
            "rendered %s %s %s: %.2f s of audio in %.2f s",
            job.key,
            job.where,
            job.speaker,
            stored.duration,
            seconds,
        )
        return stored


def apply_stage(stage: PostStage, audio: Audio, options: Mapping[str, EngineOptions]) -> Audio:
    """Run one post stage on ``audio``: an effects chain, or voice conversion."""
    if stage.kind == "effects":
        return apply_chain(audio, stage.effects)
    if stage.kind == "convert" and stage.voice is not None:
        opts = options.get(stage.engine) or EngineOptions.from_dict({})
        model = get_model(stage.engine, opts)
        convert = getattr(model, "convert", None)
        if convert is None:
            raise RenderError(f"'{stage.engine}' is not a voice converter")
        converted: Audio = convert(audio, stage.voice)
        return converted
    raise RenderError(f"unknown post stage {stage.kind!r}")


def run_stage(
    job: RenderJob,
    step: StageOutput,
    input_key: str,
    audio: Audio,
    store: Path,
    options: Mapping[str, EngineOptions],
) -> Audio:
    """Write one post stage's output (under its lock) unless stored already; returns it."""
    dest = segment_path(store, step.key)
    what = f"{job.where} ({job.speaker}, {step.stage.kind})"
    with segment_lock(store, step.key):
        if dest.exists():
            return get_segment(store, step.key)
        started = time.perf_counter()
        try:
            out = apply_stage(step.stage, audio, options)
        except TTSBuildError:
            raise
        except Exception as exc:  # a library's own failure, reported with the line
            raise RenderError(f"{what}: {step.stage.kind} failed: {exc}") from exc
        check_audio(out, what=what, max_seconds=max_duration(job.request) * 4 + 10)
        seconds = time.perf_counter() - started
        stage = {"input": input_key, **step.stage.to_dict()}
        sidecar = Sidecar(
            step.key, job.request, job.where, job.speaker, seconds, 0, 0, None, stage, uid=job.uid
        )
        stored = put_segment(store, sidecar, out)  # the next stage sees the stored bytes
        log.debug("%s %s %s in %.2f s", step.stage.kind, step.key, job.where, seconds)
        return stored


def render_one(
    job: RenderJob,
    store: Path,
    options: EngineOptions,
    qa: QASettings | None = None,
    engine_options: Mapping[str, EngineOptions] | None = None,
    environment: Mapping[str, Any] | None = None,
    raw: Audio | None = None,
    batch: tuple[int, float] | None = None,
) -> bool:
    """Run ``job``'s stage chain into ``store`` from its last stored output on. Returns True
    if it created anything (see :func:`synthesis_needed` for whether the engine ran). ``environment``: the runtime rendering it (kept in the sidecar);
    ``raw``/``batch``: its synthesis from an inference batch."""
    keys = job.keys
    if segment_path(store, keys[-1]).exists():
        return False
    stored = [i for i, k in enumerate(keys) if segment_path(store, k).exists()]
    start = stored[-1] if stored else -1
    if start >= 0:
        audio = get_segment(store, keys[start])
    else:
        audio = _synthesized(job, store, options, qa, environment, raw, batch)
    for index, step in enumerate(job.post, start=1):
        if index > start:
            audio = run_stage(job, step, keys[index - 1], audio, store, engine_options or {})
    return True


def synthesis_needed(job: RenderJob, store: Path) -> bool:
    """Whether rendering ``job`` runs the engine (no output of its chain is stored yet)."""
    return not any(segment_path(store, k).exists() for k in job.keys)


def render_jobs(
    jobs: Sequence[RenderJob],
    store: Path,
    engine_options: Mapping[str, EngineOptions],
    qa: QASettings | None = None,
    environment: Mapping[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Render every job not yet in the store. A failing segment does not stop the others;
    afterwards one :class:`RenderError` lists every failure. Returns the number rendered.
    ``progress`` is told the number of jobs done after each one (a worker's heartbeat).

    A stop request (:func:`request_stop`: SIGINT or SIGTERM) ends the loop between segments
    with :class:`BuildInterrupted`; every segment finished so far stays stored."""
    rendered = synthesized = 0
    failures: list[str] = []
    done = 0
    for batch in inference_batches(jobs, store, engine_options):
        if _stop.is_set():
            log.warning(
                "ttsbuild: interrupted: %d of %d segments of this job rendered and kept",
                rendered,
                len(jobs),
            )
            raise BuildInterrupted(
                f"interrupted after {done} of {len(jobs)} segments ({rendered} rendered and kept)"
            )
        raw, info = _render_batch(batch, engine_options)
        for job in batch:
            done += 1
            try:
                options = engine_options.get(job.request.engine) or EngineOptions.from_dict({})
                engine_runs = synthesis_needed(job, store)
                if render_one(
                    job, store, options, qa, engine_options, environment, raw.get(job.key), info
                ):
                    rendered += 1
                    synthesized += engine_runs
                else:
                    log.debug("already stored %s %s %s", job.final_key, job.where, job.speaker)
                clear_failure(store, job.final_key)
            except TTSBuildError as exc:
                log.error("ttsbuild: %s", exc)
                record_failure(store, job.final_key, str(exc))
                failures.append(str(exc))
            if progress is not None:
                progress(done)
    log.info(
        "ttsbuild: rendered %d of %d segments (%d synthesized, %d through post stages only)",
        rendered,
        len(jobs),
        synthesized,
        rendered - synthesized,
    )
    if failures:
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        raise RenderError(f"{failures[0]}{more}")
    return rendered


# --- inference batches (engines.<name>.batch_size; ttsbuild/engines/batching.py) -------------


def _engine_info(request: RenderRequest) -> EngineInfo:
    try:
        return get_engine(request.engine).info
    except TTSBuildError:  # not installed: each job reports it when it renders alone
        return EngineInfo(request.engine, 0, None, False, False)


def _batch_size(request: RenderRequest, engine_options: Mapping[str, EngineOptions]) -> int:
    return (engine_options.get(request.engine) or EngineOptions.from_dict({})).batch_size


def inference_batches(
    jobs: Sequence[RenderJob], store: Path, engine_options: Mapping[str, EngineOptions]
) -> list[list[RenderJob]]:
    """The jobs as inference batches: stored segments and engines that do not batch (or whose
    ``batch_size`` is 1) get batches of one, in job order, first; then each batching engine's
    missing syntheses, grouped and sorted by :func:`~ttsbuild.engines.batching.plan_batches`."""
    single: list[list[RenderJob]] = []
    batchable: list[RenderJob] = []
    for job in jobs:
        size = _batch_size(job.request, engine_options)
        if (
            size > 1
            and not segment_path(store, job.key).exists()
            and effective_batch_size(_engine_info(job.request), size) > 1
        ):
            batchable.append(job)
        else:
            single.append([job])
    return single + plan_batches(
        batchable, lambda j: j.request, _engine_info, lambda r: _batch_size(r, engine_options)
    )


def _render_batch(
    batch: Sequence[RenderJob], engine_options: Mapping[str, EngineOptions]
) -> tuple[dict[str, Audio], tuple[int, float] | None]:
    """The engine's raw output for each job of a batch of two or more, in one forward pass.
    If the batch fails as a whole, nothing: its jobs then render (and fail) one at a time."""
    if len(batch) < 2:
        return {}, None
    request = batch[0].request
    options = engine_options.get(request.engine) or EngineOptions.from_dict({})
    started = time.perf_counter()
    try:
        audios = synthesize_split(get_model(request.engine, options), [j.request for j in batch])
    except Exception as exc:  # noqa: BLE001 - each segment is retried alone and reports its own
        log.warning(
            "ttsbuild: inference batch of %d %s segments failed (%s); rendering them one at a time",
            len(batch),
            request.engine,
            exc,
        )
        return {}, None
    seconds = time.perf_counter() - started
    log.info(
        "ttsbuild: inference batch of %d %s segments in %.2f s", len(batch), request.engine, seconds
    )
    return {j.key: a for j, a in zip(batch, audios)}, (len(batch), seconds)
