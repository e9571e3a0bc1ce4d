"""Assembly of subtitle episodes: cue clips placed by a timing mode, adjusted SRT, timing report.

Called by :func:`ttsbuild.assemble.assemble_episode` when the plan has an ``srt`` section.
The placement itself is pure (:mod:`ttsbuild.srt_timing`); here the clips are built, stretched
with Rubber Band (pitch kept) and forced to their exact sample length.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .assemble import ClipCache, ClipInfo, Piece, master_and_write
from .audio import Audio
from .loudness import block_powers, true_peak
from .config import OutputSettings
from .fsutil import write_text_atomic
from .srt_timing import (
    CueSpan,
    CueTiming,
    TimingOptions,
    format_table,
    ms_to_samples_exact,
    place_cues,
    timeline_length,
    timing_report,
)
from .timing import Slot, format_srt, ms_to_samples, place

log = logging.getLogger(__name__)


def fit_length(audio: Audio, num_samples: int) -> Audio:
    """Trim or zero-pad the end so the clip is exactly ``num_samples`` long.

    >>> fit_length(Audio.silence(5, 10), 3).num_samples, fit_length(Audio.silence(5, 10), 8).num_samples
    (3, 8)
    """
    n = max(0, num_samples)
    if audio.num_samples == n:
        return audio
    if audio.num_samples > n:
        return Audio(audio.samples[:n], audio.sample_rate)
    pad = np.zeros(n - audio.num_samples, dtype=np.float32)
    return Audio(np.concatenate([audio.samples, pad]), audio.sample_rate)


def cue_clips(
    items: Sequence[Mapping[str, Any]],
    clips: Mapping[str, Audio],
    settings: OutputSettings,
) -> dict[int, Audio]:
    """One clip per cue that has something to speak: its chunks joined by ``chunk_gap_ms``,
    pauses written in the cue kept as silence."""
    rate = settings.sample_rate
    by_cue: dict[int, list[Mapping[str, Any]]] = {}
    for item in items:
        by_cue.setdefault(int(item["cue"]), []).append(item)
    out: dict[int, Audio] = {}
    for cue, cue_items in by_cue.items():
        slots = [
            Slot("pause", ms_to_samples(i["ms"], rate), i["line"])
            if i["type"] == "pause"
            else Slot("segment", clips[i["key"]].num_samples, i["line"], i["chunk"])
            for i in cue_items
        ]
        placements, total = place(slots, rate, settings.chunk_gap_ms, settings.chunk_gap_ms, 0)
        track = np.zeros(total, dtype=np.float32)
        for p in placements:
            track[p.start : p.end] += clips[cue_items[p.index]["key"]].samples
        out[cue] = Audio(track, rate)
    return out


def render_cue(clip: Audio, timing: CueTiming, fade_ms: float) -> Audio:
    """The clip as placed: stretched to ``timing.stretched`` samples, then cut to ``length``."""
    audio = clip
    if timing.stretched != clip.num_samples:
        audio = fit_length(clip.time_stretched(timing.stretched / clip.num_samples), timing.stretched)
    if timing.length < audio.num_samples:
        audio = fit_length(audio, timing.length).faded(fade_ms)
    return audio


def _same(audio: Audio) -> Audio:
    return audio


def assemble_cues(
    plan: Mapping[str, Any],
    cache: ClipCache,
    settings: OutputSettings,
    wav_out: str | Path,
    srt_out: str | Path,
    timing_out: str | Path,
) -> dict[str, Any]:
    rate = settings.sample_rate
    srt = plan["srt"]
    options = TimingOptions.from_dict(srt["timing"])
    cues: list[Mapping[str, Any]] = srt["cues"]
    keys = dict.fromkeys(i["key"] for i in plan["items"] if i["type"] == "segment")
    built = cue_clips(plan["items"], {key: cache.audio(key) for key in keys}, settings)
    spans = [
        CueSpan(
            ms_to_samples_exact(int(c["start_ms"]), rate),
            ms_to_samples_exact(int(c["end_ms"]), rate),
            built[c["cue"]].num_samples if c["cue"] in built else 0,
        )
        for c in cues
    ]
    padding = ms_to_samples(settings.padding_ms, rate)
    timings = place_cues(spans, options, rate, lead_in=padding, gap=ms_to_samples(settings.gap_ms, rate))
    total = timeline_length(timings, tail=padding)
    pieces: list[Piece] = []
    for cue, timing in zip(cues, timings):
        if timing.length <= 0:
            continue
        audio = render_cue(built[cue["cue"]], timing, settings.fade_ms)
        info = ClipInfo(audio.num_samples, true_peak(audio), block_powers(audio))
        pieces.append(Piece(timing.start, info, partial(_same, audio)))
    mastering = master_and_write(wav_out, rate, total, pieces, settings)
    shown = [(t.start, t.end, c["display"]) for c, t in zip(cues, timings) if c["display"]]
    write_text_atomic(srt_out, format_srt(shown, rate))
    flags = Counter(f for t in timings for f in t.flags)
    report = {
        "episode": plan["episode"],
        "source": plan["source"],
        "sample_rate": rate,
        "mode": options.mode,
        "timing": options.to_dict(),
        "encoding": srt["encoding"],
        "duration_samples": total,
        "duration": round(total / rate, 6),
        "cue_count": len(cues),
        "spoken_cues": len(built),
        "segments": sum(1 for i in plan["items"] if i["type"] == "segment"),
        "flags": dict(sorted(flags.items())),
        "mastering": mastering,
        "cues": timing_report(timings, rate, cues),
    }
    write_text_atomic(timing_out, json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    log.info(
        "ttsbuild: assembled %s (%s): %d cues, %d spoken, %.1f s; flags: %s\n%s",
        plan["episode"],
        options.mode,
        len(cues),
        len(built),
        total / rate,
        ", ".join(f"{k} {v}" for k, v in sorted(flags.items())) or "none",
        format_table(timings, rate),
    )
    return report
