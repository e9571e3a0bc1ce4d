"""Mastering and writing an episode: one gain for the loudness target, true-peak limiting of the
clips that need it, and the timeline streamed to disk clip by clip (memory flat in length).

Imports: core, config, assembly.clips, assembly.mastering.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ttsbuild.assembly.clips import ClipInfo, Piece
from ttsbuild.assembly.mastering import (
    block_powers,
    integrated_loudness,
    limit,
    mastering_gain,
    to_db,
    true_peak,
)
from ttsbuild.config.settings import OutputSettings
from ttsbuild.core.audio import Audio
from ttsbuild.core.formats import output_format
from ttsbuild.core.fsutil import atomic_path


def _stream(
    path: Path, rate: int, total: int, pieces: Iterator[tuple[int, npt.NDArray[np.float32]]]
) -> None:
    """Write ``total`` samples to ``path``: silence, with each (start, samples) piece placed."""
    import soundfile as sf

    fmt, subtype = output_format(path, rate, total)
    zeros = np.zeros(rate * 10, dtype=np.float32)
    with atomic_path(path) as tmp:
        with sf.SoundFile(str(tmp), "w", rate, 1, subtype=subtype, format=fmt) as out:
            pos = 0
            for start, samples in pieces:
                while pos < start:
                    n = min(start - pos, zeros.size)
                    out.write(zeros[:n])
                    pos += n
                out.write(np.clip(samples, -1.0, 1.0))
                pos += samples.size
            while pos < total:
                n = min(total - pos, zeros.size)
                out.write(zeros[:n])
                pos += n


def master_and_write(
    path: str | Path, rate: int, total: int, pieces: Sequence[Piece], settings: OutputSettings
) -> dict[str, Any]:
    """Apply one mastering gain (loudness target, true-peak ceiling) and stream the episode.

    Only clips that would cross the ceiling are loaded for limiting before the write; the rest
    are loaded one at a time while writing, so memory does not grow with the episode.
    """
    gain, measured = 1.0, float("-inf")
    if settings.loudness_lufs is not None:
        gain, measured = mastering_gain([p.info.blocks for p in pieces], settings.loudness_lufs)
    ceiling = 10 ** (settings.peak_dbfs / 20)
    limited: dict[int, tuple[Audio, ClipInfo]] = {}

    def over(g: float) -> list[int]:
        return [i for i, p in enumerate(pieces) if p.info.true_peak * g > ceiling]

    def blocks() -> list[npt.NDArray[np.float64]]:
        return [
            limited[i][1].blocks if i in limited else p.info.blocks * gain**2
            for i, p in enumerate(pieces)
        ]

    if settings.loudness_lufs is not None:
        # Limiting lowers those clips' loudness; measure again and correct the gain.
        for _ in range(6):
            limited = {}
            for i in over(gain):
                audio = limit(pieces[i].load().with_gain(gain), settings.peak_dbfs)
                limited[i] = (
                    audio,
                    ClipInfo(audio.num_samples, true_peak(audio), block_powers(audio)),
                )
            if not limited:
                break
            correction, _ = mastering_gain(blocks(), settings.loudness_lufs)
            if abs(to_db(correction)) < 0.1:
                break
            gain *= correction
    else:
        for i in over(gain):
            audio = limit(pieces[i].load(), settings.peak_dbfs)
            limited[i] = (audio, ClipInfo(audio.num_samples, true_peak(audio), block_powers(audio)))
    final_lufs = integrated_loudness(blocks())
    final_peak = max(
        [
            limited[i][1].true_peak if i in limited else p.info.true_peak * gain
            for i, p in enumerate(pieces)
        ]
        or [0.0]
    )

    def stream() -> Iterator[tuple[int, npt.NDArray[np.float32]]]:
        for i, p in enumerate(pieces):
            if i in limited:
                yield p.start, limited[i][0].samples
            else:
                yield p.start, p.load().samples * np.float32(gain)

    _stream(Path(path), rate, total, stream())
    return {
        "target_lufs": settings.loudness_lufs,
        "measured_lufs_before": round(measured, 2) if np.isfinite(measured) else None,
        "gain_db": round(to_db(gain), 2),
        "integrated_lufs": round(final_lufs, 2) if np.isfinite(final_lufs) else None,
        "true_peak_dbtp": round(to_db(final_peak), 2) if final_peak > 0 else None,
        "limited_clips": len(limited),
    }
