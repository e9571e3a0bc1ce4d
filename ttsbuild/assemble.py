"""Assembly: stored segments + a frozen plan -> episode audio, SRT track and timing report.

Memory stays flat in the number of segments: each clip is prepared once (resampled, trimmed,
faded; loudness blocks and true peak measured) and cached by segment key and output settings;
placement needs only clip lengths; the episode is then streamed to disk clip by clip with one
mastering gain, limiting only the clips that would cross the peak ceiling.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .audio import Audio, read_audio
from .cachekey import RENDER_PIPELINE_VERSION, canonical_json
from .config import OutputSettings
from .encode import output_format
from .errors import StoreError
from .fsutil import atomic_path, write_bytes_atomic, write_text_atomic
from .loudness import (
    block_powers,
    integrated_loudness,
    limit,
    mastering_gain,
    to_db,
    true_peak,
)
from .store import segment_path
from .timing import Slot, format_srt, ms_to_samples, place

log = logging.getLogger(__name__)

#: Bump when clip preparation or its measurements change (invalidates the clip cache).
CLIP_CACHE_VERSION = 2


@dataclass(frozen=True)
class ClipInfo:
    """What placement and mastering need to know about a prepared clip."""

    samples: int
    true_peak: float
    blocks: npt.NDArray[np.float64]  # BS.1770 gating-block powers


class ClipCache:
    """Prepared clips on disk, keyed by segment key and the settings that shape them.

    ``<key>.f32`` holds the samples (raw float32) and ``<key>.info`` the length, true peak and
    loudness blocks (raw float64), so reading one back costs a single small read, no parsing.
    """

    def __init__(self, store: Path, cache_dir: Path | None, settings: OutputSettings):
        self.store = store
        self.settings = settings
        digest = hashlib.sha256(
            canonical_json(
                [CLIP_CACHE_VERSION, RENDER_PIPELINE_VERSION, settings.sample_rate, settings.trim_db,
                 settings.fade_ms]
            ).encode()
        ).hexdigest()[:12]
        self.dir = cache_dir / digest if cache_dir is not None else None
        self._info: dict[str, ClipInfo] = {}
        self._audio: dict[str, Audio] = {}  # only without a cache directory

    def _prepare(self, key: str) -> tuple[Audio, ClipInfo]:
        path = segment_path(self.store, key)
        try:
            audio = read_audio(path)
        except Exception as exc:
            raise StoreError(
                f"{path}: stored segment cannot be decoded ({exc}); run 'ttsbuild verify "
                "--delete' and build again"
            ) from None
        s = self.settings
        audio = audio.resampled(s.sample_rate).trimmed(s.trim_db).faded(s.fade_ms)
        info = ClipInfo(audio.num_samples, true_peak(audio), block_powers(audio))
        if self.dir is None:
            self._audio[key] = audio
        else:
            write_bytes_atomic(self.dir / f"{key}.f32", audio.samples.tobytes())
            meta = np.concatenate([[info.samples, info.true_peak], info.blocks]).astype(np.float64)
            write_bytes_atomic(self.dir / f"{key}.info", meta.tobytes())
        return audio, info

    def info(self, key: str) -> ClipInfo:
        info = self._info.get(key)
        if info is None:
            raw = None
            if self.dir is not None:
                try:
                    raw = np.fromfile(self.dir / f"{key}.info", dtype=np.float64)
                except OSError:
                    raw = None
            if raw is not None and raw.size >= 2:
                info = ClipInfo(int(raw[0]), float(raw[1]), raw[2:])
            else:
                info = self._prepare(key)[1]
            self._info[key] = info
        return info

    def audio(self, key: str) -> Audio:
        if self.dir is None:
            if key not in self._audio:
                self._prepare(key)
            return self._audio[key]
        try:
            samples = np.fromfile(self.dir / f"{key}.f32", dtype=np.float32)
        except OSError:
            samples = None
        if samples is None or samples.size != self.info(key).samples:
            return self._prepare(key)[0]
        return Audio(samples, self.settings.sample_rate)


def _stream(
    path: Path, rate: int, total: int, pieces: Iterator[tuple[int, npt.NDArray[np.float32]]]
) -> None:
    """Write ``total`` samples to ``path``: silence, with each (start, samples) piece placed."""
    import soundfile as sf

    fmt, subtype = output_format(path, rate)
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


@dataclass(frozen=True)
class Piece:
    """One clip placed on the episode timeline; ``load`` gives its audio when it is written."""

    start: int
    info: ClipInfo
    load: Callable[[], Audio]


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
                limited[i] = (audio, ClipInfo(audio.num_samples, true_peak(audio), block_powers(audio)))
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
        [limited[i][1].true_peak if i in limited else p.info.true_peak * gain
         for i, p in enumerate(pieces)] or [0.0]
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


def assemble_episode(
    plan_file: str | Path,
    store: str | Path,
    settings: OutputSettings,
    wav_out: str | Path,
    srt_out: str | Path,
    timing_out: str | Path,
    cache_dir: str | Path | None = None,
) -> dict[str, Any]:
    plan = json.loads(Path(plan_file).read_text("utf-8"))
    cache = ClipCache(Path(store), Path(cache_dir) if cache_dir else None, settings)
    rate = settings.sample_rate
    items: list[dict[str, Any]] = plan["items"]

    if "srt" in plan:  # a subtitle episode: cue times and a timing mode place the clips
        from .srt_assemble import assemble_cues

        return assemble_cues(plan, cache, settings, wav_out, srt_out, timing_out)

    # Placement needs only clip lengths; mastering only their loudness blocks and peaks.
    slots: list[Slot] = []
    for item in items:
        if item["type"] == "pause":
            slots.append(Slot("pause", ms_to_samples(item["ms"], rate), item["line"]))
        else:
            info = cache.info(item["key"])
            slots.append(Slot("segment", info.samples, item["line"], item["chunk"]))
    placements, total = place(
        slots, rate, settings.gap_ms, settings.chunk_gap_ms, settings.padding_ms
    )
    pieces = [
        Piece(p.start, cache.info(items[p.index]["key"]), partial(cache.audio, items[p.index]["key"]))
        for p in placements
    ]
    mastering = master_and_write(wav_out, rate, total, pieces, settings)

    cues: list[tuple[int, int, str]] = []
    report_items: list[dict[str, Any]] = []
    for p in placements:
        item = items[p.index]
        cues.append((p.start, p.end, item["text"]))
        report_items.append(
            {
                "index": len(report_items) + 1,
                "line": item["line"],
                "chunk": item["chunk"],
                "speaker": item["speaker"],
                "language": item["language"],
                "text": item["text"],
                "key": item["key"],
                "uid": item.get("uid", ""),
                "start_sample": p.start,
                "end_sample": p.end,
                "start": round(p.start / rate, 6),
                "end": round(p.end / rate, 6),
            }
        )
    write_text_atomic(srt_out, format_srt(cues, rate))
    report = {
        "episode": plan["episode"],
        "source": plan["source"],
        "sample_rate": rate,
        "duration_samples": total,
        "duration": round(total / rate, 6),
        "segments": len(report_items),
        "pauses": sum(1 for s in slots if s.kind == "pause"),
        "mastering": mastering,
        "items": report_items,
    }
    write_text_atomic(timing_out, json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    log.info(
        "ttsbuild: assembled %s: %d segments, %.1f s, %s LUFS, true peak %s dBTP",
        plan["episode"],
        len(report_items),
        total / rate,
        report["mastering"]["integrated_lufs"],
        report["mastering"]["true_peak_dbtp"],
    )
    return report
