"""A look-ahead true-peak limiter and a loudness-matching loop (numpy, soxr, pyloudnorm).

:func:`true_peak_limit` computes, per sample, the gain that keeps the signal's 4x oversampled
peak around that sample at the ceiling, takes the minimum of that gain over a window centred on
the sample (the look-ahead: the gain is already down when the peak arrives) and smooths it with
a moving average of the same width. The average of window minima is never above the gain each
sample needs, so no peak crosses the ceiling, and the gain moves over milliseconds, not from
one sample to the next (no clipping, no distortion on the peak).

:func:`match_loudness` brings a file to a BS.1770 loudness target *after* limiting: limiting
lowers the loudness, so the gain is raised again until the limited file measures the target
(within 0.05 LU), then its true peak is checked and pulled back under the ceiling.

Why not pedalboard's ``Limiter``: it is JUCE's two compressors and a hard clipper at 0 dBFS,
with no look-ahead and no true-peak detection, so it either clips or leaves inter-sample peaks
over a -1 dBTP ceiling; its ``Compressor`` (used by the episode writer) overshoots the gain
reduction, which left "limited" assets at -2.2 dBTP and up to 2.4 LU off the target.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ttsbuild.assembly.mastering import true_peak
from ttsbuild.core.audio import Audio

#: Half the window over which the gain is held and smoothed (the look-ahead), in ms.
LOOKAHEAD_MS = 5.0
_MARGIN_DB = 0.05  # the limiter aims this far under the ceiling: resampling rounds


def _sliding_min(x: npt.NDArray[np.float64], width: int) -> npt.NDArray[np.float64]:
    """``min(x[i:i+width])`` for every i (length ``len(x) - width + 1``), by doubling spans."""
    level, span = x, 1
    while span * 2 <= width:
        level = np.minimum(level[:-span], level[span:])
        span *= 2
    n = len(x) - width + 1
    return np.minimum(level[:n], level[width - span : width - span + n])


def _local_peaks(audio: Audio) -> npt.NDArray[np.float64]:
    """Each sample's neighbourhood peak in the 4x oversampled signal (and the sample itself)."""
    import soxr

    x = audio.samples.astype(np.float64)
    up = np.abs(soxr.resample(x, audio.sample_rate, audio.sample_rate * 4, quality="HQ"))
    up = np.resize(np.pad(up, (0, max(0, 4 * len(x) - len(up)))), 4 * len(x))
    peaks = np.maximum(np.abs(x), up.reshape(len(x), 4).max(axis=1))
    peaks[1:] = np.maximum(peaks[1:], peaks[:-1])  # the samples between i-1 and i
    return peaks


def true_peak_limit(audio: Audio, ceiling_db: float) -> Audio:
    """The audio with no true peak over ``ceiling_db`` (look-ahead, 4x oversampled)."""
    if not audio.num_samples:
        return audio
    ceiling = 10 ** ((ceiling_db - _MARGIN_DB) / 20)
    peaks = _local_peaks(audio)
    need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    half = max(1, round(LOOKAHEAD_MS * audio.sample_rate / 1000))
    width = 2 * half + 1
    held = _sliding_min(np.pad(need, half, constant_values=1.0), width)
    padded = np.pad(held, half, constant_values=1.0)
    sums = np.concatenate([[0.0], np.cumsum(padded)])
    gain = (sums[width:] - sums[:-width]) / width
    gain = np.minimum(gain, held)  # float rounding of the average: never above the minimum
    return Audio((audio.samples * gain).astype(np.float32), audio.sample_rate)


def loudness(audio: Audio) -> float:
    """BS.1770 integrated loudness with pyloudnorm (-inf when under the gate or too short)."""
    import warnings

    import pyloudnorm

    if audio.num_samples < int(0.4 * audio.sample_rate):
        return float("-inf")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = pyloudnorm.Meter(audio.sample_rate).integrated_loudness(
            audio.samples.astype(np.float64)
        )
    return float(value)


def match_loudness(
    audio: Audio, target_lufs: float, ceiling_db: float, max_boost_db: float = 12.0
) -> tuple[Audio, float, bool]:
    """(the audio at ``target_lufs`` with its true peak at or under ``ceiling_db``, the total
    gain in dB, whether it was limited). Stops raising the gain ``max_boost_db`` above the
    plain loudness gain: a file that would need more is left quieter (and says so)."""
    measured = loudness(audio)
    gain_db = target_lufs - measured
    first = gain_db
    ceiling = 10 ** (ceiling_db / 20)
    out, limited = audio, False
    for _ in range(8):
        out = audio.with_gain(float(10 ** (gain_db / 20)))
        limited = true_peak(out) > ceiling
        if limited:
            out = true_peak_limit(out, ceiling_db)
        error = target_lufs - loudness(out)
        if not np.isfinite(error) or abs(error) < 0.05 or gain_db - first >= max_boost_db:
            break
        gain_db = min(gain_db + error, first + max_boost_db)
    peak = true_peak(out)
    if peak > ceiling:  # the limiter's margin did not cover a resampling overshoot
        out = out.with_gain(ceiling / peak * 10 ** (-_MARGIN_DB / 20))
    return out, gain_db, limited
