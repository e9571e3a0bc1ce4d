"""Subtitle layout: cue clips placed by a timing mode, the adjusted SRT and the per-cue report.

The placement itself is pure (:mod:`ttsbuild.assembly.srt_timing`); here each cue's clip is
built (its chunks joined, pauses kept), stretched with Rubber Band (pitch kept) and forced to
its exact sample length. Cue clips are derived clips of the clip cache, so a long subtitle
episode is streamed like a script: no cue's audio is held longer than it takes to write it.

Imports: core, config, planning, assembly.clips, assembly.timing, assembly.srt_timing.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np

from ttsbuild.assembly.clips import ClipCache, Layout, Piece
from ttsbuild.assembly.srt_timing import (
    CueSpan,
    CueTiming,
    format_table,
    ms_to_samples_exact,
    place_cues,
    timeline_length,
    timing_report,
)
from ttsbuild.assembly.timing import Placement, Slot, ms_to_samples, place
from ttsbuild.config.settings import OutputSettings, TimingOptions
from ttsbuild.core.audio import Audio
from ttsbuild.planning.key import canonical_json
from ttsbuild.planning.plan import EpisodePlan, PlanItem, Segment

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


def _cue_slots(
    items: Sequence[PlanItem], cache: ClipCache, settings: OutputSettings
) -> tuple[list[Placement], int]:
    """A cue's own layout: its chunks joined by ``chunk_gap_ms``, pauses kept as silence."""
    rate = settings.sample_rate
    slots = [
        Slot("segment", cache.info(i.key).samples, i.line, i.chunk)
        if isinstance(i, Segment)
        else Slot("pause", ms_to_samples(i.milliseconds, rate), i.line)
        for i in items
    ]
    return place(slots, rate, settings.chunk_gap_ms, settings.chunk_gap_ms, 0)


def cue_clip(
    items: Sequence[PlanItem],
    placements: Sequence[Placement],
    total: int,
    cache: ClipCache,
    rate: int,
) -> Audio:
    """The cue's natural clip: its segments' audio at their places in the cue's layout."""
    track = np.zeros(total, dtype=np.float32)
    for p in placements:
        seg = items[p.index]
        assert isinstance(seg, Segment)
        track[p.start : p.end] += cache.audio(seg.key).samples
    return Audio(track, rate)


def render_cue(clip: Audio, timing: CueTiming, fade_ms: float) -> Audio:
    """The clip as placed: stretched to ``timing.stretched`` samples, then cut to ``length``."""
    audio = clip
    if timing.stretched != clip.num_samples:
        audio = fit_length(
            clip.time_stretched(timing.stretched / clip.num_samples), timing.stretched
        )
    if timing.length < audio.num_samples:
        audio = fit_length(audio, timing.length).faded(fade_ms)
    return audio


def _placed_cue(
    items: Sequence[PlanItem],
    placements: Sequence[Placement],
    total: int,
    timing: CueTiming,
    cache: ClipCache,
    settings: OutputSettings,
) -> Audio:
    clip = cue_clip(items, placements, total, cache, settings.sample_rate)
    return render_cue(clip, timing, settings.fade_ms)


def _cue_clip_name(
    items: Sequence[PlanItem], timing: CueTiming, settings: OutputSettings, cache: ClipCache
) -> str:
    """What a placed cue clip depends on: its segment clips (their files' identity included),
    pauses, the stretch and cut, the chunk gap."""
    parts = [
        cache.name(i.key) if isinstance(i, Segment) else ["pause", i.milliseconds] for i in items
    ]
    material = [parts, timing.stretched, timing.length, settings.chunk_gap_ms, settings.fade_ms]
    return "cue-" + hashlib.sha256(canonical_json(material).encode()).hexdigest()[:20]


def cue_layout(
    plan: EpisodePlan, srt: Mapping[str, Any], cache: ClipCache, settings: OutputSettings
) -> Layout:
    rate = settings.sample_rate
    options = TimingOptions.from_dict(srt["timing"])
    cues: list[Mapping[str, Any]] = srt["cues"]
    by_cue: dict[int, list[PlanItem]] = {}
    for item in plan.items:
        assert item.cue is not None
        by_cue.setdefault(item.cue, []).append(item)
    layouts = {cue: _cue_slots(items, cache, settings) for cue, items in by_cue.items()}
    spans = [
        CueSpan(
            ms_to_samples_exact(int(c["start_ms"]), rate),
            ms_to_samples_exact(int(c["end_ms"]), rate),
            layouts[c["cue"]][1] if c["cue"] in layouts else 0,
        )
        for c in cues
    ]
    padding = ms_to_samples(settings.padding_ms, rate)
    timings = place_cues(
        spans, options, rate, lead_in=padding, gap=ms_to_samples(settings.gap_ms, rate)
    )
    total = timeline_length(timings, tail=padding)
    pieces: list[Piece] = []
    for cue, timing in zip(cues, timings):
        if timing.length <= 0:
            continue
        items = by_cue[cue["cue"]]
        placements, natural = layouts[cue["cue"]]
        build = partial(_placed_cue, items, placements, natural, timing, cache, settings)
        name = cache.derive(_cue_clip_name(items, timing, settings, cache), build)
        pieces.append(Piece(timing.start, cache.info(name), partial(cache.audio, name)))
    shown = [(t.start, t.end, c["display"]) for c, t in zip(cues, timings) if c["display"]]
    flags = Counter(f for t in timings for f in t.flags)
    report = {
        "mode": options.mode,
        "timing": options.to_dict(),
        "encoding": srt["encoding"],
        "cue_count": len(cues),
        "spoken_cues": len(by_cue),
        "segments": sum(1 for i in plan.items if isinstance(i, Segment)),
        "flags": dict(sorted(flags.items())),
        "mastering": None,  # filled in after writing
        "cues": timing_report(timings, rate, cues),
    }
    summary = f"{options.mode}, {len(cues)} cues, {len(by_cue)} spoken; flags: " + (
        ", ".join(f"{k} {v}" for k, v in sorted(flags.items())) or "none"
    )
    return Layout(total, pieces, shown, report, summary, "\n" + format_table(timings, rate))
