"""The mix: an episode's speech over a bed (music, M&E, a programme's own track), the bed
ducked under the speech by a side-chain envelope, the loudness measured on the mix
(docs/mixing.md). The dialogue-only episode (``out/<episode>.wav``) is the input and stays.

The side chain: the dialogue's level in 10 ms frames; a frame louder than ``threshold_db`` is
speech. The bed's gain is ``duck_db`` under speech and 0 dB away from it, with linear ramps in
dB: down over ``attack_ms`` *before* the speech (an offline mix can look ahead, so the bed is
down when the first word starts) and up over ``release_ms`` after it, once the speech has
been quiet for ``hold_ms`` (so the bed does not pump between words). Everything is integer
frames and numpy arrays: deterministic and linear in the episode's length.

Imports: core, config, assembly.mastering.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ttsbuild.assembly.mastering import block_powers, integrated_loudness, limit, to_db, true_peak
from ttsbuild.config.settings import OutputSettings
from ttsbuild.core.audio import Audio, read_audio, write_audio
from ttsbuild.core.errors import RenderError
from ttsbuild.core.ffmpeg import VIDEO_SUFFIXES, video_audio
from ttsbuild.core.files import MAX_BED_BYTES, check_regular
from ttsbuild.core.formats import output_format
from ttsbuild.core.fsutil import write_text_atomic

log = logging.getLogger(__name__)

FRAME_MS = 10
#: How far the mix may land from ``output.loudness_lufs`` before it is a warning (as assets).
LOUDNESS_TOLERANCE_LU = 0.5


def read_bed(path: str | Path, sample_rate: int) -> Audio:
    """The bed's audio, mono at ``sample_rate``: a video's audio track through ffmpeg, any
    other file through soundfile."""
    path = Path(path)
    try:
        check_regular(path, MAX_BED_BYTES)  # a FIFO or a device would block or never end
    except OSError as exc:
        reason = str(exc) if not exc.strerror else exc.strerror.lower()
        raise RenderError(f"{path}: the bed cannot be read: {reason}") from None
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return video_audio(path, sample_rate)
    try:
        return read_audio(path).resampled(sample_rate)
    except Exception as exc:
        raise RenderError(
            f"{path}: the bed cannot be decoded ({str(exc)[:200]}); use WAV, FLAC, OGG, MP3 or "
            "a video (read through ffmpeg)"
        ) from None


def speech_frames(samples: npt.NDArray[np.float32], frame: int, threshold_db: float) -> Any:
    """Whether each frame of ``frame`` samples holds speech (RMS over the threshold)."""
    n = -(-samples.size // frame)
    padded = np.zeros(n * frame, dtype=np.float64)
    padded[: samples.size] = samples
    rms = np.sqrt(np.mean(padded.reshape(n, frame) ** 2, axis=1))
    return rms > 10 ** (threshold_db / 20)


def _boundary_distances(active: Any) -> tuple[Any, Any]:
    """For each frame boundary k (0..n, the start of frame k): frames until the next speech
    frame starts, and frames since the last one ended (inf when there is none)."""
    n = active.size
    idx = np.arange(n + 1, dtype=np.float64)
    starts = np.append(np.where(active, idx[:-1], np.inf), np.inf)
    ahead = np.minimum.accumulate(starts[::-1])[::-1] - idx
    ends = np.insert(np.where(active, idx[1:], -np.inf), 0, -np.inf)
    behind = idx - np.maximum.accumulate(ends)
    return ahead, behind


def duck_gains(
    active: Any,
    frame: int,
    total: int,
    bed: Mapping[str, Any],
    rate: int,
) -> npt.NDArray[np.float32]:
    """The bed's linear gain per sample from the frames' speech flags (see the module doc).

    >>> bed = {"duck_db": -20.0, "attack_ms": 10.0, "release_ms": 20.0, "hold_ms": 0.0}
    >>> g = duck_gains(np.array([0, 0, 1, 0, 0, 0], bool), 10, 60, bed, 1000)
    >>> [round(float(20 * np.log10(g[i])), 1) for i in (0, 15, 25, 45, 55)]
    [0.0, -10.0, -20.0, -5.0, 0.0]
    """
    if not active.any():
        return np.ones(total, dtype=np.float32)
    ms = frame / rate * 1000.0  # one frame, in ms
    ahead, behind = _boundary_distances(active)
    attack, release = float(bed["attack_ms"]), float(bed["release_ms"])
    down = np.clip(1 - ahead * ms / attack, 0, 1) if attack > 0 else (ahead == 0) * 1.0
    held = np.maximum(behind * ms - float(bed["hold_ms"]), 0.0)  # a pause between words
    up = np.clip(1 - held / release, 0, 1) if release > 0 else (held == 0) * 1.0
    points = np.arange(active.size + 1) * frame
    per_sample = np.interp(np.arange(total), points, np.maximum(down, up) * bed["duck_db"])
    return np.power(10.0, per_sample / 20.0).astype(np.float32)


def mix_episode(
    dialogue_wav: str | Path,
    bed_file: str | Path,
    bed: Mapping[str, Any],
    settings: OutputSettings,
    out_wav: str | Path,
    report_out: str | Path,
) -> dict[str, Any]:
    """Mix the dialogue episode over its bed, master the mix, write it and its report."""
    dialogue = read_audio(dialogue_wav)
    rate = dialogue.sample_rate
    bed_audio = read_bed(bed_file, rate)
    total = max(dialogue.num_samples, bed_audio.num_samples)
    speech = np.zeros(total, dtype=np.float32)
    speech[: dialogue.num_samples] = dialogue.samples
    under = np.zeros(total, dtype=np.float32)
    under[: bed_audio.num_samples] = bed_audio.samples * np.float32(10 ** (bed["gain_db"] / 20))
    frame = max(1, rate * FRAME_MS // 1000)
    active = speech_frames(speech, frame, float(bed["threshold_db"]))
    gains = duck_gains(active, frame, total, bed, rate)
    mixed = Audio(speech + under * gains, rate)
    measured = integrated_loudness([block_powers(mixed)])
    gain_db = 0.0
    if settings.loudness_lufs is not None and np.isfinite(measured):
        gain_db = float(settings.loudness_lufs - measured)
    mastered = mixed.with_gain(float(10 ** (gain_db / 20)))
    limited = true_peak(mastered) > 10 ** (settings.peak_dbfs / 20)
    if limited:
        mastered = limit(mastered, settings.peak_dbfs)
    out = Path(out_wav)
    write_audio(out, mastered, output_format(out, rate, total)[1])
    final = integrated_loudness([block_powers(mastered)])
    warnings: list[str] = []
    if bed_audio.num_samples < dialogue.num_samples:
        gap = (dialogue.num_samples - bed_audio.num_samples) / rate
        warnings.append(f"the bed ends {gap:.2f} s before the speech; silence under the rest")
    target = settings.loudness_lufs
    if target is not None and np.isfinite(final) and abs(final - target) > LOUDNESS_TOLERANCE_LU:
        why = "the true-peak limiter brought it down; a lower bed.gain_db" if limited else "a"
        warnings.append(
            f"the mix is {final:.2f} LUFS, {abs(final - target):.2f} LU off the {target:g} LUFS "
            f"target ({why} bed with fewer peaks would land nearer)"
        )
    report = {
        "episode_samples": dialogue.num_samples,
        "bed_samples": bed_audio.num_samples,
        "duration_samples": total,
        "sample_rate": rate,
        "bed": {k: bed[k] for k in sorted(bed) if k != "file"} | {"file": str(bed["file"])},
        "speech_seconds": round(float(active.sum()) * frame / rate, 3),
        "measured_lufs_before": round(measured, 2) if np.isfinite(measured) else None,
        "gain_db": round(gain_db, 4),
        "gain": float(10 ** (gain_db / 20)),  # exact: the mix is (speech + ducked bed) * gain
        "limited": bool(limited),
        "integrated_lufs": round(final, 2) if np.isfinite(final) else None,
        "true_peak_dbtp": round(to_db(true_peak(mastered)), 2),
        "warnings": warnings,
    }
    for warning in warnings:
        log.warning("ttsbuild: warning: %s: %s", out, warning)
    write_text_atomic(report_out, json.dumps(report, indent=1) + "\n")
    log.info(
        "ttsbuild: mixed %s over %s: %.1f s, %s LUFS, bed ducked %g dB under %.1f s of speech",
        out,
        bed["file"],
        total / rate,
        report["integrated_lufs"],
        bed["duck_db"],
        report["speech_seconds"],
    )
    return report
