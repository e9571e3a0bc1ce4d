"""Rendering segments into the store, one model load per process."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .audio import Audio, check_audio, write_audio
from .cachekey import derive_seed
from .engines import EngineInfo, EngineOptions, RenderRequest, get_engine
from .engines.batching import effective_batch_size, plan_batches, synthesize_split
from .errors import RenderError, TTSBuildError
from .models import get_model
from .plan import request_to_dict
from .qa import QASettings, Verdict
from .store import clear_failure, record_failure, segment_lock, segment_path, write_sidecar

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderJob:
    """One segment to render, with where it came from (for error messages)."""

    key: str
    request: RenderRequest
    where: str  # "scripts/episode01.txt:12"
    speaker: str


def max_duration(request: RenderRequest) -> float:
    """A generous ceiling on a segment's length; past it the generation ran away."""
    speed = request.param("speed", 1.0) or 1.0
    return 8.0 + 0.35 * len(request.text) / speed


def synthesize(request: RenderRequest, options: EngineOptions, what: str) -> Audio:
    """Synthesize and post-process one request; checks the result before returning it."""
    model = get_model(request.engine, options)
    try:
        audio = model.synthesize(request)
    except TTSBuildError:
        raise
    except Exception as exc:  # an engine's own failure, reported with the line
        raise RenderError(f"{what}: engine '{request.engine}' failed: {exc}") from exc
    return finish(audio, request, what)


def finish(audio: Audio, request: RenderRequest, what: str) -> Audio:
    """Check an engine's raw output and apply ttsbuild's own post-processing (pitch)."""
    check_audio(audio, what=what, max_seconds=max_duration(request))
    pitch = request.param("pitch", 0.0)
    if pitch:
        audio = audio.pitch_shifted(pitch)
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
    from .qa import transcribe, word_error_rate

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
        log.warning("ttsbuild: QA flagged %s: WER %.2f after %d attempts, heard %r", what, wer,
                    attempt, heard)
    return audio, Verdict(wer, heard, attempt, flagged, seed)


def render_one(
    job: RenderJob,
    store: Path,
    options: EngineOptions,
    qa: QASettings | None = None,
    raw: Audio | None = None,
    batch: tuple[int, float] | None = None,
) -> bool:
    """Render ``job`` into ``store`` unless present. Returns True if it rendered. ``raw`` and
    ``batch`` (size, seconds) come from an inference batch that rendered it with others."""
    dest = segment_path(store, job.key)
    if dest.exists():
        return False
    with segment_lock(store, job.key):
        if dest.exists():  # another build rendered it while we waited
            return False
        started = time.perf_counter()
        audio, verdict = render_checked(job, options, qa, raw)
        seconds = time.perf_counter() - started
        if batch is not None:  # this segment's share of its inference batch
            seconds += batch[1] / batch[0]
        sidecar = {
            "key": job.key,
            "request": request_to_dict(job.request),
            "where": job.where,
            "speaker": job.speaker,
            "render_seconds": round(seconds, 4),
            "samples": audio.num_samples,
            "sample_rate": audio.sample_rate,
        }
        if batch is not None:
            sidecar["inference_batch"] = batch[0]
        if verdict is not None:
            sidecar["qa"] = verdict.to_dict()
        write_sidecar(store, job.key, sidecar)
        write_audio(dest, audio)
        log.debug("rendered %s %s in %.2f s", job.key, job.where, seconds)
        return True


def render_jobs(
    jobs: Sequence[RenderJob],
    store: Path,
    engine_options: Mapping[str, EngineOptions],
    qa: QASettings | None = None,
) -> int:
    """Render every job not yet in the store. A failing segment does not stop the others;
    afterwards one :class:`RenderError` lists every failure. Returns the number rendered."""
    rendered = 0
    failures: list[str] = []
    for batch in inference_batches(jobs, store, engine_options):
        raw, info = _render_batch(batch, engine_options)
        for job in batch:
            try:
                options = engine_options.get(job.request.engine, EngineOptions())
                if render_one(job, store, options, qa, raw.get(job.key), info):
                    rendered += 1
                clear_failure(store, job.key)
            except TTSBuildError as exc:
                log.error("ttsbuild: %s", exc)
                record_failure(store, job.key, str(exc))
                failures.append(str(exc))
    log.info("ttsbuild: rendered %d of %d segments", rendered, len(jobs))
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


def inference_batches(
    jobs: Sequence[RenderJob], store: Path, engine_options: Mapping[str, EngineOptions]
) -> list[list[RenderJob]]:
    """The jobs as inference batches: stored segments and engines that do not batch (or whose
    ``batch_size`` is 1) get batches of one, in job order, first; then each batching engine's
    missing segments, grouped and sorted by :func:`~ttsbuild.engines.batching.plan_batches`."""

    def size(request: RenderRequest) -> int:
        return engine_options.get(request.engine, EngineOptions()).batch_size

    single: list[list[RenderJob]] = []
    batchable: list[RenderJob] = []
    for job in jobs:
        if (
            size(job.request) > 1
            and not segment_path(store, job.key).exists()
            and effective_batch_size(_engine_info(job.request), size(job.request)) > 1
        ):
            batchable.append(job)
        else:
            single.append([job])
    return single + plan_batches(batchable, lambda j: j.request, _engine_info, size)


def _render_batch(
    batch: Sequence[RenderJob], engine_options: Mapping[str, EngineOptions]
) -> tuple[dict[str, Audio], tuple[int, float] | None]:
    """The engine's raw output for each job of a batch of two or more, in one forward pass.
    If the batch fails as a whole, nothing: its jobs then render (and fail) one at a time."""
    if len(batch) < 2:
        return {}, None
    request = batch[0].request
    options = engine_options.get(request.engine, EngineOptions())
    started = time.perf_counter()
    try:
        audios = synthesize_split(get_model(request.engine, options), [j.request for j in batch])
    except Exception as exc:  # noqa: BLE001 - each segment is retried alone and reports its own
        log.warning(
            "ttsbuild: inference batch of %d %s segments failed (%s); rendering them one at a time",
            len(batch), request.engine, exc,
        )
        return {}, None
    seconds = time.perf_counter() - started
    log.info("ttsbuild: inference batch of %d %s segments in %.2f s", len(batch), request.engine,
             seconds)
    return {j.key: a for j, a in zip(batch, audios)}, (len(batch), seconds)

