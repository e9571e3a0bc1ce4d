"""Assembly: stored segments + a frozen plan -> episode audio, SRT track and timing report."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from .audio import Audio, read_audio, write_audio
from .config import OutputSettings
from .errors import StoreError
from .fsutil import write_text_atomic
from .store import segment_path
from .timing import Slot, format_srt, ms_to_samples, place

log = logging.getLogger(__name__)


def load_clip(store: Path, key: str, settings: OutputSettings) -> Audio:
    path = segment_path(store, key)
    try:
        audio = read_audio(path)
    except Exception as exc:
        raise StoreError(
            f"{path}: stored segment cannot be decoded ({exc}); delete it and build again"
        ) from None
    audio = audio.resampled(settings.sample_rate).trimmed(settings.trim_db)
    return audio.faded(settings.fade_ms)


def master(audio: Audio, settings: OutputSettings) -> tuple[Audio, dict[str, float | None]]:
    """Normalize integrated loudness (EBU R128 / BS.1770 via pyloudnorm) under a peak ceiling."""
    info: dict[str, float | None] = {"loudness_lufs": None, "gain_db": 0.0}
    if settings.loudness_lufs is None or audio.duration < 0.5:
        return audio, info
    import pyloudnorm

    meter = pyloudnorm.Meter(audio.sample_rate)
    loudness = float(meter.integrated_loudness(audio.samples.astype(np.float64)))
    if not np.isfinite(loudness):
        return audio, info
    gain_db = settings.loudness_lufs - loudness
    peak = audio.peak()
    ceiling = 10 ** (settings.peak_dbfs / 20)
    if peak > 0 and peak * 10 ** (gain_db / 20) > ceiling:
        gain_db = 20 * np.log10(ceiling / peak)
    out = audio.with_gain(10 ** (gain_db / 20))
    info["gain_db"] = round(float(gain_db), 3)
    info["loudness_lufs"] = round(float(meter.integrated_loudness(out.samples.astype(np.float64))), 3)
    return out, info


def assemble_episode(
    plan_file: str | Path,
    store: str | Path,
    settings: OutputSettings,
    wav_out: str | Path,
    srt_out: str | Path,
    timing_out: str | Path,
) -> dict[str, Any]:
    plan = json.loads(Path(plan_file).read_text("utf-8"))
    store = Path(store)
    rate = settings.sample_rate
    items: list[dict[str, Any]] = plan["items"]
    if "srt" in plan:  # a subtitle episode: cue times and a timing mode place the clips
        from .srt_assemble import assemble_cues

        keys = dict.fromkeys(i["key"] for i in items if i["type"] == "segment")
        loaded = {key: load_clip(store, key, settings) for key in keys}
        return assemble_cues(plan, loaded, settings, wav_out, srt_out, timing_out)
    clips: dict[str, Audio] = {}
    slots: list[Slot] = []
    for item in items:
        if item["type"] == "pause":
            slots.append(Slot("pause", ms_to_samples(item["ms"], rate), item["line"]))
            continue
        key = item["key"]
        if key not in clips:
            clips[key] = load_clip(store, key, settings)
        slots.append(Slot("segment", clips[key].num_samples, item["line"], item["chunk"]))
    placements, total = place(
        slots, rate, settings.gap_ms, settings.chunk_gap_ms, settings.padding_ms
    )
    track = np.zeros(total, dtype=np.float32)
    cues: list[tuple[int, int, str]] = []
    report_items: list[dict[str, Any]] = []
    for p in placements:
        item = items[p.index]
        track[p.start : p.end] += clips[item["key"]].samples
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
                "start_sample": p.start,
                "end_sample": p.end,
                "start": round(p.start / rate, 6),
                "end": round(p.end / rate, 6),
            }
        )
    audio, mastering = master(Audio(track, rate), settings)
    write_audio(wav_out, audio, subtype="PCM_16" if str(wav_out).endswith(".wav") else None)
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
        "ttsbuild: assembled %s: %d segments, %.1f s",
        plan["episode"],
        len(report_items),
        total / rate,
    )
    return report
