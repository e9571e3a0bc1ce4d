"""Mastering and writing an episode: one quantized gain for the loudness target, true-peak
limiting of the clips that need it, and the timeline streamed to disk clip by clip.

Incremental by construction. Mastering is defined per clip: a clip's mastered samples depend
only on the clip, the episode's gain and the ceiling (:func:`master_clip`). The gain is
quantized to :data:`GAIN_STEP_DB`, so an edit that moves the episode's loudness by less than
the step leaves every other clip's mastered samples unchanged. Each mastered clip is cached
as the episode file's own PCM bytes (:class:`MasteredCache`), so writing an unchanged region
is a byte copy: no per-sample Python work. A clean build and an incremental build of the same
inputs run the same functions on the same values and give identical bytes.

Imports: core, config, assembly.clips, assembly.mastering.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from ttsbuild.assembly.clips import Piece
from ttsbuild.assembly.mastering import (
    TARGET_TOLERANCE_LU,
    block_powers,
    integrated_loudness,
    limit_measured,
    mastering_gain,
    target_check,
    to_db,
    true_peak,
)
from ttsbuild.config.settings import OutputSettings
from ttsbuild.core.audio import Audio
from ttsbuild.core.formats import output_format
from ttsbuild.core.fsutil import atomic_path, seal, unseal, write_bytes_atomic
from ttsbuild.core.parallel import thread_map

log = logging.getLogger(__name__)

#: The mastering gain's step. Rounding costs at most half a step (0.25 dB) of loudness; the
#: limiter correction stops within another half step, so the target holds within 0.5 LU.
GAIN_STEP_DB = 0.5
#: Bump when :func:`master_clip` or the PCM conversion changes (invalidates mastered clips).
MASTER_VERSION = 2
#: Sample widths of the PCM subtypes the fast writer handles (the episode WAV's).
_PCM_WIDTH = {"PCM_16": 2, "PCM_24": 3}


def quantize_db(db: float) -> float:
    """The gain step used for the episode gain.

    >>> quantize_db(-4.29), quantize_db(-4.2), quantize_db(0.1)
    (-4.5, -4.0, 0.0)
    """
    return float(round(db / GAIN_STEP_DB) * GAIN_STEP_DB) + 0.0


def pcm_width(subtype: str) -> int:
    """Bytes per sample of a PCM subtype the fast writer handles (2 for any other)."""
    return _PCM_WIDTH.get(subtype, 2)


def to_pcm(samples: npt.NDArray[np.float32], width: int) -> bytes:
    """Little-endian PCM as libsndfile writes normalized float: clip, scale, round to even."""
    full = float(2 ** (8 * width - 1) - 1)
    ints = np.rint(np.clip(samples, -1.0, 1.0).astype(np.float64) * full).astype("<i4")
    if width == 4:
        return ints.tobytes()
    return ints.view(np.uint8).reshape(-1, 4)[:, :width].tobytes()


@dataclass(frozen=True)
class Mastered:
    """A clip as it sits in the episode: its true peak and loudness blocks after mastering."""

    true_peak: float
    blocks: npt.NDArray[np.float64]
    limited: bool


def _under_ceiling(peak: float, gain_db: float, ceiling_db: float) -> bool:
    return peak * float(10 ** (gain_db / 20)) <= 10 ** (ceiling_db / 20)


def master_clip(piece: Piece, gain_db: float, ceiling_db: float) -> tuple[Audio, float | None]:
    """A clip at the episode gain, limited only if its true peak would cross the ceiling;
    with the limited clip's true peak (None: not limited)."""
    audio = piece.load()
    gained = audio.with_gain(float(10 ** (gain_db / 20))) if gain_db else audio
    if _under_ceiling(piece.info.true_peak, gain_db, ceiling_db):
        return gained, None
    return limit_measured(gained, ceiling_db)


def _mastered_audio(piece: Piece, gain_db: float, ceiling_db: float) -> Audio:
    audio = master_clip(piece, gain_db, ceiling_db)[0]
    if piece.span is None:
        return audio
    return Audio(audio.samples[piece.span[0] : piece.span[1]], audio.sample_rate)


class MasteredCache:
    """Mastered clips of one episode on disk (``<name>.<tag>.pcm`` plus ``.m`` for measured
    ones), tagged by gain, ceiling and PCM width. Files this build did not use are removed
    after the write, so the folder holds one mastered copy of the episode."""

    def __init__(self, folder: Path | None, ceiling_db: float, width: int):
        self.folder = folder
        self.ceiling_db = ceiling_db
        self.width = width
        self.measured_used: set[str] = set()  # stems whose .m this build read or wrote
        self.written: set[str] = set()  # stems whose .pcm the episode file holds

    def mastered_name(self, name: str, gain_db: float) -> str:
        """The mastered clip's name: the clip's, plus everything mastering it depends on
        (gain, ceiling, PCM width, :data:`MASTER_VERSION`)."""
        tag = hashlib.sha256(
            f"{MASTER_VERSION}|{gain_db:.3f}|{self.ceiling_db:.3f}|{self.width}".encode()
        ).hexdigest()[:12]
        return f"{name}.{tag}"

    def measured(self, piece: Piece, gain_db: float, keep_pcm: bool = True) -> Mastered:
        """Peak and blocks after mastering: arithmetic for a clip under the ceiling, measured
        (and cached) for one the limiter changes. ``keep_pcm``: keep the mastered clip's bytes
        too, for a pass whose gain the episode will likely be written at (without them,
        writing at this gain masters the clip again)."""
        g = float(10 ** (gain_db / 20))
        if _under_ceiling(piece.info.true_peak, gain_db, self.ceiling_db):
            return Mastered(piece.info.true_peak * g, piece.info.blocks * g**2, False)
        stem = self.mastered_name(piece.name, gain_db)
        if self.folder is not None:
            with contextlib.suppress(OSError):
                raw = np.fromfile(self.folder / f"{stem}.m", dtype=np.float64)
                if raw.size >= 1:
                    self.measured_used.add(stem)
                    return Mastered(float(raw[0]), raw[1:], True)
        audio, peak = master_clip(piece, gain_db, self.ceiling_db)
        measured_peak = true_peak(audio) if peak is None else peak
        result = Mastered(measured_peak, block_powers(audio), peak is not None)
        self._store(stem, audio, result, keep_pcm)
        return result

    def measure_all(
        self, pieces: Sequence[Piece], gain_db: float, keep_pcm: bool = True
    ) -> list[Mastered]:
        """:meth:`measured` for every piece, the limited ones spread over the cores (each
        clip's result depends on that clip alone: the same values at any thread count)."""
        return thread_map(partial(self.measured, gain_db=gain_db, keep_pcm=keep_pcm), pieces)

    def _store(self, stem: str, audio: Audio, result: Mastered, keep_pcm: bool) -> None:
        if self.folder is None:
            return
        self.measured_used.add(stem)
        if keep_pcm:
            pcm = to_pcm(audio.samples, self.width)
            write_bytes_atomic(self.folder / f"{stem}.pcm", seal(pcm), durable=False)
        meta = np.concatenate([[result.true_peak], result.blocks]).astype(np.float64)
        write_bytes_atomic(self.folder / f"{stem}.m", meta.tobytes(), durable=False)

    def pcm(self, piece: Piece, gain_db: float) -> bytes:
        """The clip's bytes in the episode file (of its ``span`` only, when it has one)."""
        data = self._clip_pcm(piece, gain_db)
        if piece.span is None:
            return data
        return data[piece.span[0] * self.width : piece.span[1] * self.width]

    def _clip_pcm(self, piece: Piece, gain_db: float) -> bytes:
        stem = self.mastered_name(piece.name, gain_db)
        expected = piece.info.samples * self.width
        if self.folder is not None:
            with contextlib.suppress(OSError):
                data = unseal((self.folder / f"{stem}.pcm").read_bytes())
                if data is not None and len(data) == expected:
                    self.written.add(stem)
                    return data
        audio, _ = master_clip(piece, gain_db, self.ceiling_db)
        pcm = to_pcm(audio.samples, self.width)
        if self.folder is not None:
            self.written.add(stem)
            write_bytes_atomic(self.folder / f"{stem}.pcm", seal(pcm), durable=False)
        return pcm

    def prune(self) -> int:
        """Remove mastered clips this build did not use; returns how many files."""
        if self.folder is None or not self.folder.is_dir():
            return 0
        removed = 0
        for path in self.folder.iterdir():
            stem, _, kind = path.name.rpartition(".")
            keep = self.written if kind == "pcm" else self.measured_used
            if stem not in keep and not path.name.startswith("."):
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += 1
        return removed


#: The most the correction passes may move the gain from the one that reaches the target by
#: prediction. Up: past it the limiter would take more than 12 dB off the peaks (speech
#: flattened toward a square wave) for less and less loudness; -14 LUFS at -1 dBTP on Piper
#: speech took 5 dB (200 lines) to about 7.5 dB. Down: a target near the -70 LUFS gate,
#: where quiet blocks drop out of the measurement as the gain falls. Past it the build stops
#: and says by how much the target is missed (:func:`~ttsbuild.assembly.mastering.target_check`).
MAX_CORRECTION_DB = 12.0


def _episode_gain(
    pieces: Sequence[Piece], settings: OutputSettings, cache: MasteredCache
) -> tuple[float, float, list[Mastered]]:
    """(quantized gain dB, loudness measured before, each clip as mastered). The gain that
    brings the clips' blocks to the target, then corrected pass by pass where the mastered
    episode's loudness misses it: limited clips lose loudness, and near the -70 LUFS gate
    quiet blocks stop counting (a miss under ``TARGET_TOLERANCE_LU`` with nothing limited
    is the gain step's rounding, left as it is)."""
    target = settings.loudness_lufs
    if target is None:
        return 0.0, float("-inf"), cache.measure_all(pieces, 0.0)
    gain, measured = mastering_gain([p.info.blocks for p in pieces], target)
    gain_db = quantize_db(to_db(gain)) if np.isfinite(measured) else 0.0
    # The predicted gain is corrected whenever the limiter takes loudness back (every Piper
    # episode at -16 LUFS): its mastered bytes would be written, then pruned (365 MB at 1,000
    # lines), so this pass keeps only the measurements.
    mastered = cache.measure_all(pieces, gain_db, keep_pcm=False)
    least, most = gain_db - MAX_CORRECTION_DB, gain_db + MAX_CORRECTION_DB
    previous: tuple[float, float] | None = None  # (gain dB, loudness) of the pass before
    audible = (gain_db, mastered)  # the last pass with blocks over the gate
    for _ in range(6):
        limited = any(m.limited for m in mastered)
        loudness = integrated_loudness([m.blocks for m in mastered])
        if not np.isfinite(loudness):  # all under the gate: halfway back, never this low again
            if previous is None:
                break
            least = gain_db + GAIN_STEP_DB
            gain_db = max(least, quantize_db((previous[0] + gain_db) / 2))
            mastered = cache.measure_all(pieces, gain_db)
            continue
        audible = (gain_db, mastered)
        if not limited and abs(target - loudness) <= TARGET_TOLERANCE_LU:
            break
        slope = _slope(previous, (gain_db, loudness), _limited_share(mastered))
        step = quantize_db((target - loudness) / slope)
        bounded = min(max(gain_db + step, least), most)
        if step == 0.0 or bounded == gain_db:
            break
        previous = (gain_db, loudness)
        gain_db = bounded
        mastered = cache.measure_all(pieces, gain_db)
    if previous is not None and not np.isfinite(integrated_loudness([m.blocks for m in mastered])):
        gain_db, mastered = audible
    return gain_db, measured, mastered


def _limited_share(mastered: Sequence[Mastered]) -> float:
    """The share of the episode's energy in limited clips (0 to 1)."""
    total = sum(float(m.blocks.sum()) for m in mastered)
    limited = sum(float(m.blocks.sum()) for m in mastered if m.limited)
    return limited / total if total > 0 else 0.0


def _slope(
    previous: tuple[float, float] | None, current: tuple[float, float], limited_share: float
) -> float:
    """Loudness gained per dB of gain (a secant step between the last two passes). The limiter
    takes back part of each dB in the clips it limits, so correcting as if all of it counted
    needs extra passes. Without a pass before: 1 - share / 2 (speech limited throughout gains
    about half of each dB: 0.54 and 0.48 LU per dB measured on Piper episodes). Clamped to
    [0.2, 1]: a step is at most five times the miss.

    >>> _slope(None, (10.0, -17.2), 0.0), _slope(None, (10.0, -17.2), 1.0)
    (1.0, 0.5)
    >>> _slope((10.0, -17.22), (11.0, -16.68), 1.0)
    0.54
    """
    if previous is None or previous[0] == current[0]:
        slope = 1.0 - 0.5 * limited_share
    else:
        slope = (current[1] - previous[1]) / (current[0] - previous[0])
    return float(min(1.0, max(0.2, round(slope, 6))))


def _write_wav(
    path: Path, rate: int, total: int, width: int, clips: Sequence[tuple[int, Callable[[], bytes]]]
) -> None:
    """A PCM WAV from placed byte runs: silence between them written as zero bytes."""
    zeros = bytes(rate * width)
    with atomic_path(path) as tmp, wave.open(str(tmp), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.setnframes(total)
        pos = 0
        for start, data in clips:
            pos = _silence(out, pos, start, zeros, width)
            chunk = data()
            out.writeframesraw(chunk)
            pos += len(chunk) // width
        _silence(out, pos, total, zeros, width)


def _silence(
    out: wave.Wave_write | IO[bytes], pos: int, until: int, zeros: bytes, width: int
) -> int:
    while pos < until:
        n = min(until - pos, len(zeros) // width)
        data = zeros[: n * width]
        if isinstance(out, wave.Wave_write):
            out.writeframesraw(data)
        else:
            out.write(data)
        pos += n
    return pos


def _write_any(
    path: Path, rate: int, total: int, clips: Sequence[tuple[int, Callable[[], Audio]]]
) -> None:
    """Any other format (and WAV past 4 GiB, as RF64) through libsndfile, clip by clip."""
    import soundfile as sf

    fmt, subtype = output_format(path, rate, total)
    zeros = np.zeros(rate * 10, dtype=np.float32)
    with atomic_path(path) as tmp, sf.SoundFile(str(tmp), "w", rate, 1, subtype, format=fmt) as out:
        pos = 0
        for start, load in clips:
            while pos < start:
                n = min(start - pos, zeros.size)
                out.write(zeros[:n])
                pos += n
            samples = load().samples
            out.write(np.clip(samples, -1.0, 1.0))
            pos += samples.size
        while pos < total:
            n = min(total - pos, zeros.size)
            out.write(zeros[:n])
            pos += n


def write_pieces(
    path: Path,
    rate: int,
    total: int,
    pieces: Sequence[Piece],
    gain_db: float,
    settings: OutputSettings,
    cache: MasteredCache,
) -> None:
    """Write placed clips, each mastered at ``gain_db``, as one file of ``total`` samples."""
    fmt, subtype = output_format(path, rate, total)
    if fmt == "WAV" and subtype in _PCM_WIDTH:  # RF64 (past 4 GiB) goes through libsndfile
        _write_wav(
            path,
            rate,
            total,
            _PCM_WIDTH[subtype],
            [(p.start, partial(cache.pcm, p, gain_db)) for p in pieces],
        )
    else:
        _write_any(
            path,
            rate,
            total,
            [(p.start, partial(_mastered_audio, p, gain_db, settings.peak_dbfs)) for p in pieces],
        )


def episode_gain(
    pieces: Sequence[Piece], settings: OutputSettings, cache: MasteredCache, path: Path
) -> tuple[float, dict[str, Any]]:
    """The mastering gain (dB) the file of these clips at ``path`` is written at, and
    :func:`target_check`'s verdict on it (logged when the target is missed)."""
    gain_db, _, mastered = _episode_gain(pieces, settings, cache)
    return gain_db, _verdict(path, mastered, gain_db, settings)


def _verdict(
    path: Path, mastered: Sequence[Mastered], gain_db: float, settings: OutputSettings
) -> dict[str, Any]:
    limited = sum(1 for m in mastered if m.limited)
    return target_check(path, [m.blocks for m in mastered], limited, gain_db, settings)


def master_and_write(
    path: str | Path,
    rate: int,
    total: int,
    pieces: Sequence[Piece],
    settings: OutputSettings,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """Master every clip at one quantized gain (loudness target, true-peak ceiling) and write
    the episode. ``cache_dir`` keeps the mastered clips of this episode between builds."""
    path = Path(path)
    fmt, subtype = output_format(path, rate, total)
    width = pcm_width(subtype)
    cache = MasteredCache(cache_dir, settings.peak_dbfs, width)
    gain_db, measured, mastered = _episode_gain(pieces, settings, cache)
    final_lufs = integrated_loudness([m.blocks for m in mastered])
    final_peak = max([m.true_peak for m in mastered] or [0.0])
    write_pieces(path, rate, total, pieces, gain_db, settings, cache)
    cache.prune()
    return {
        "target_lufs": settings.loudness_lufs,
        **_verdict(path, mastered, gain_db, settings),
        "measured_lufs_before": round(measured, 2) if np.isfinite(measured) else None,
        "gain_db": gain_db,
        "gain_step_db": GAIN_STEP_DB,
        "integrated_lufs": round(final_lufs, 2) if np.isfinite(final_lufs) else None,
        "true_peak_dbtp": round(to_db(final_peak), 2) if final_peak > 0 else None,
        "limited_clips": sum(1 for m in mastered if m.limited),
    }
