"""Loudness (ITU-R BS.1770 via pyloudnorm), true peak, and a peak-safe mastering gain.

An episode can be hours long. Rather than measuring the finished track in memory, each clip's
gating blocks are measured once (and cached with the clip); the episode's integrated loudness
is the BS.1770 gate applied to the union of its clips' blocks. Silence between clips falls
below the absolute gate, so this equals the whole-track measurement up to blocks straddling
clip edges (a test checks the two agree). The verdict on a loudness target
(:func:`target_check`) is here too: whether it was met, and if not, why.

Imports: core, config.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ttsbuild.config.settings import OutputSettings
from ttsbuild.core.audio import Audio

log = logging.getLogger(__name__)

ABSOLUTE_GATE = -70.0
BLOCK_SECONDS = 0.4


def block_powers(audio: Audio, context: float = 0.3) -> npt.NDArray[np.float64]:
    """Mean-square K-weighted power of each 400 ms gating block (75% overlap) of one clip.

    The clip is measured with ``context`` seconds of silence either side, as it sits in the
    episode, so blocks that straddle its edges count as they do in a whole-track measurement.
    pyloudnorm's own K-weighting filters; the blocks' sums as its ``integrated_loudness``
    takes them (the same slices, each summed by ``np.sum``) without its Python loop over the
    blocks: the same values to the bit (``tests/test_loudness.py``), the blocks' part about
    eight times faster (the filters are most of what is left).
    """
    if not audio.num_samples:
        return np.zeros(0)
    import pyloudnorm

    pad = np.zeros(int(context * audio.sample_rate), dtype=np.float64)
    padded = np.concatenate([pad, audio.samples.astype(np.float64), pad])
    if padded.size <= BLOCK_SECONDS * audio.sample_rate:
        return np.zeros(0)
    meter = pyloudnorm.Meter(audio.sample_rate)
    weighted = padded
    for stage in meter._filters.values():  # K-weighting: the shelf, then the high pass
        weighted = stage.apply_filter(weighted)
    z = _block_mean_squares(weighted, audio.sample_rate, meter.block_size, meter.overlap)
    with np.errstate(divide="ignore"):
        loudness = -0.691 + 10.0 * np.log10(z)  # pyloudnorm's blockwise loudness, as it rounds
    return np.power(10.0, (loudness + 0.691) / 10.0)


#: Blocks summed at once (their squares copied: 256 blocks of 400 ms at 48 kHz take 39 MB).
_BLOCKS_AT_ONCE = 256


def _block_mean_squares(
    weighted: npt.NDArray[np.float64], rate: int, block_s: float, overlap: float
) -> npt.NDArray[np.float64]:
    """Each gating block's mean square, with pyloudnorm's block count and bounds (BS.1770
    eq. 1 and 3): full-length blocks summed row by row from a window view, in chunks, so an
    hours-long mix never holds more than :data:`_BLOCKS_AT_ONCE` blocks' copies."""
    from numpy.lib.stride_tricks import sliding_window_view

    step = 1.0 - overlap
    count = int(np.round((weighted.shape[0] / rate - block_s) / (block_s * step))) + 1
    j = np.arange(count)
    lower = (block_s * (j * step) * rate).astype(np.int64)
    upper = np.minimum((block_s * (j * step + 1) * rate).astype(np.int64), weighted.shape[0])
    squares = np.square(weighted)
    sums = np.empty(count, dtype=np.float64)
    length = int(block_s * rate)
    full = np.flatnonzero(upper - lower == length)
    windows = sliding_window_view(squares, length)
    hop = int(lower[1] - lower[0]) if count > 1 else 0
    if (
        full.size
        and hop > 0
        and np.array_equal(lower[full], lower[full[0]] + hop * (full - full[0]))
    ):
        sums[full] = np.sum(windows[lower[full[0]] :: hop][: full.size], axis=1)  # a view
    else:
        for start in range(0, full.size, _BLOCKS_AT_ONCE):
            rows = full[start : start + _BLOCKS_AT_ONCE]
            sums[rows] = np.sum(windows[lower[rows]], axis=1)
    for k in np.flatnonzero(upper - lower != length):
        sums[k] = np.sum(squares[lower[k] : max(lower[k], upper[k])])
    return (1.0 / (block_s * rate)) * sums


def integrated_loudness(blocks: Iterable[npt.NDArray[np.float64]]) -> float:
    """BS.1770 integrated loudness (LUFS) from gating-block powers; -inf for silence."""
    z = np.concatenate([np.asarray(b, dtype=np.float64) for b in blocks] or [np.zeros(0)])
    if z.size == 0:
        return float("-inf")
    with np.errstate(divide="ignore"):
        levels = -0.691 + 10.0 * np.log10(z)
    z = z[levels >= ABSOLUTE_GATE]
    if z.size == 0:
        return float("-inf")
    relative_gate = -0.691 + 10.0 * np.log10(z.mean()) - 10.0
    with np.errstate(divide="ignore"):
        levels = -0.691 + 10.0 * np.log10(z)
    z = z[levels >= relative_gate]
    return float(-0.691 + 10.0 * np.log10(z.mean()))


def true_peak(audio: Audio) -> float:
    """Linear true peak: the sample peak of the signal oversampled 4x (BS.1770 annex 2)."""
    if not audio.num_samples:
        return 0.0
    import soxr

    up = soxr.resample(audio.samples, audio.sample_rate, audio.sample_rate * 4, quality="HQ")
    return float(max(np.max(np.abs(up)), audio.peak()))


def to_db(linear: float) -> float:
    return 20.0 * np.log10(linear) if linear > 0 else float("-inf")


def limit(audio: Audio, ceiling_db: float) -> Audio:
    """Bring a clip's true peak under ``ceiling_db``: a fast compressor (pedalboard) catches the
    peaks, and any overshoot it leaves is removed by a final gain."""
    return limit_measured(audio, ceiling_db)[0]


def limit_measured(audio: Audio, ceiling_db: float) -> tuple[Audio, float]:
    """:func:`limit`, and the limited clip's true peak (measured once: the final gain scales
    it, so it is not oversampled a second time)."""
    from pedalboard import Compressor

    ceiling = 10 ** (ceiling_db / 20)
    comp = Compressor(threshold_db=ceiling_db - 3.0, ratio=20.0, attack_ms=0.5, release_ms=60.0)
    out = comp(audio.samples[np.newaxis, :], audio.sample_rate)[0]
    limited = Audio(np.asarray(out, dtype=np.float32), audio.sample_rate)
    tp = true_peak(limited)
    if tp > ceiling:
        gain = ceiling / tp * 0.99
        limited = limited.with_gain(gain)
        tp *= gain
    return limited, tp


def mastering_gain(
    blocks: Sequence[npt.NDArray[np.float64]], target_lufs: float
) -> tuple[float, float]:
    """(linear gain that brings the blocks to ``target_lufs``, measured loudness)."""
    measured = integrated_loudness(blocks)
    if not np.isfinite(measured):
        return 1.0, measured
    return float(10 ** ((target_lufs - measured) / 20)), measured


#: How far the episode's loudness may land from the target before the build says so: the gain
#: step's half (0.25 LU) plus the limiter correction's half step.
TARGET_TOLERANCE_LU = 0.5


def target_check(
    path: Path,
    blocks: Iterable[npt.NDArray[np.float64]],
    limited: int,
    gain_db: float,
    settings: OutputSettings,
) -> dict[str, Any]:
    """The verdict on a file mastered at ``gain_db`` whose clips have these ``blocks`` (as
    mastered; ``limited`` of them limited): ``target_met`` (None: no target) and
    ``target_missed_lu`` (signed, measured minus target; None when met or unmeasurable). A
    miss is a warning that names its cause."""
    target = settings.loudness_lufs
    if target is None:
        return {"target_met": None, "target_missed_lu": None}
    final = integrated_loudness(blocks)
    missed = round(final - target, 2) if np.isfinite(final) else None
    if missed is not None and abs(missed) <= TARGET_TOLERANCE_LU:
        return {"target_met": True, "target_missed_lu": None}
    if missed is None:
        why = (
            f"is silent to BS.1770 (every block under its {ABSOLUTE_GATE:g} LUFS gate), so "
            f"there is no loudness to bring to the target {target:g} LUFS: is the speech "
            "trimmed away (output.trim_db) or turned far down by an effect?"
        )
    elif missed < 0 and limited:
        why = (
            f"({final:.2f} LUFS) is {-missed:.2f} LU below the target {target:g} LUFS (gain "
            f"{gain_db:.1f} dB, {limited} clips limited): the true-peak ceiling "
            f"({settings.peak_dbfs:g} dBTP) holds it down; lower output.loudness_lufs or raise "
            "output.peak_dbfs"
        )
    elif missed > 0:
        why = (
            f"({final:.2f} LUFS) is {missed:.2f} LU above the target {target:g} LUFS (gain "
            f"{gain_db:.1f} dB): at this level the quieter speech falls under BS.1770's "
            f"{ABSOLUTE_GATE:g} LUFS gate and stops counting, so the measurement cannot come "
            "down to the target; raise output.loudness_lufs"
        )
    else:
        why = f"({final:.2f} LUFS) is {-missed:.2f} LU below the target {target:g} LUFS"
    log.warning("ttsbuild: warning: %s: the loudness %s", path, why)
    return {"target_met": False, "target_missed_lu": missed}
