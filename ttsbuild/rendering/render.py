"""Rendering segments into the store, one model load per process."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ttsbuild.config.settings import EngineOptions, QASettings
from ttsbuild.core.audio import Audio, check_audio, write_audio
from ttsbuild.core.errors import RenderError, TTSBuildError
from ttsbuild.core.request import RenderRequest
from ttsbuild.planning.key import derive_seed
from ttsbuild.rendering.batch import RenderJob
from ttsbuild.rendering.models import get_model
from ttsbuild.rendering.qa import Verdict
from ttsbuild.store.segments import (
    Sidecar,
    clear_failure,
    record_failure,
    segment_lock,
    segment_path,
    write_sidecar,
)

log = logging.getLogger(__name__)


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
    check_audio(audio, what=what, max_seconds=max_duration(request))
    pitch = request.param("pitch", 0.0)
    if pitch:
        audio = audio.pitch_shifted(pitch)
    return audio


def render_checked(
    job: RenderJob, options: EngineOptions, qa: QASettings | None
) -> tuple[Audio, Verdict | None]:
    """Synthesize a job; with QA on, transcribe it and retry with the next derived seeds
    until the word error rate is acceptable, keeping the best attempt."""
    what = f"{job.where} ({job.speaker})"
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


def render_one(
    job: RenderJob,
    store: Path,
    options: EngineOptions,
    qa: QASettings | None = None,
    environment: Mapping[str, Any] | None = None,
) -> bool:
    """Render ``job`` into ``store`` unless present. Returns True if it rendered. A worker in an
    engine's runtime passes its ``environment``, which the sidecar keeps."""
    dest = segment_path(store, job.key)
    if dest.exists():
        return False
    with segment_lock(store, job.key):
        if dest.exists():  # another build rendered it while we waited
            return False
        started = time.perf_counter()
        audio, verdict = render_checked(job, options, qa)
        seconds = time.perf_counter() - started
        sidecar = Sidecar(
            job.key,
            job.request,
            job.where,
            job.speaker,
            seconds,
            audio.num_samples,
            audio.sample_rate,
            verdict.to_dict() if verdict is not None else None,
            environment,
        )
        write_sidecar(store, sidecar)
        write_audio(dest, audio)
        log.debug("rendered %s %s in %.2f s", job.key, job.where, seconds)
        return True


def render_jobs(
    jobs: Sequence[RenderJob],
    store: Path,
    engine_options: Mapping[str, EngineOptions],
    qa: QASettings | None = None,
    environment: Mapping[str, Any] | None = None,
) -> int:
    """Render every job not yet in the store. A failing segment does not stop the others;
    afterwards one :class:`RenderError` lists every failure. Returns the number rendered."""
    rendered = 0
    failures: list[str] = []
    for job in jobs:
        try:
            options = engine_options.get(job.request.engine) or EngineOptions.from_dict({})
            if render_one(job, store, options, qa, environment):
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
