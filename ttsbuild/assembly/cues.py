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
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np

from ttsbuild.assembly.clips import ClipCache, Layout, Piece
from ttsbuild.assembly.cue_report import (
    TimingProblem,
    format_table,
    timing_problems,
    timing_report,
)
from ttsbuild.assembly.srt_timing import (
    CueSpan,
    CueTiming,
    ms_to_samples_exact,
    place_cues,
    timeline_length,
)
from ttsbuild.assembly.timing import Placement, Slot, ms_to_samples, place
from ttsbuild.config.settings import OutputSettings, TimingOptions
from ttsbuild.core.audio import Audio
from ttsbuild.core.errors import TimingError
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


def speaker_parts(
    items: Sequence[PlanItem], placements: Sequence[Placement], natural: int, timing: CueTiming
) -> tuple[tuple[int, int, str], ...]:
    """A cue spoken by several characters, split between them for the stems: each speaker's
    run of segments up to the middle of the gap before the next speaker's, scaled as the clip
    is stretched and cut where the cue is cut. Empty when one character speaks the cue.

    >>> seg = lambda who: Segment("k", 1, 0, 1, who, None)
    >>> items = [seg("alice"), seg("bob")]
    >>> places = [Placement(0, 0, 100), Placement(1, 120, 200)]
    >>> speaker_parts(items, places, 200, CueTiming(0, 400, 200, 0, 400, 400, 400))
    ((0, 220, 'alice'), (220, 400, 'bob'))
    """
    runs: list[list[Any]] = []  # [speaker, start, end] in the natural clip
    for p in placements:
        seg = items[p.index]
        if not isinstance(seg, Segment):
            continue
        if runs and runs[-1][0] == seg.speaker:
            runs[-1][2] = p.end
        else:
            runs.append([seg.speaker, p.start, p.end])
    if len({r[0] for r in runs}) < 2 or natural <= 0:
        return ()
    cuts = [
        min(timing.length, (a[2] + b[1]) // 2 * timing.stretched // natural)
        for a, b in zip(runs, runs[1:])
    ]
    bounds = [0, *cuts, timing.length]
    return tuple((bounds[i], bounds[i + 1], run[0]) for i, run in enumerate(runs))


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
    items: Sequence[PlanItem],
    timing: CueTiming,
    settings: OutputSettings,
    cache: ClipCache | None,
) -> str:
    """What a placed cue clip depends on: its segment clips (their files' identity included,
    with a ``cache``; without one, their keys alone: the clip's content name), pauses, the
    stretch and cut, the chunk gap."""
    parts = [
        (cache.name(i.key) if cache is not None else i.key)
        if isinstance(i, Segment)
        else ["pause", i.milliseconds]
        for i in items
    ]
    material = [parts, timing.stretched, timing.length, settings.chunk_gap_ms, settings.fade_ms]
    return "cue-" + hashlib.sha256(canonical_json(material).encode()).hexdigest()[:20]


def strict_timing(options: TimingOptions) -> bool:
    """``timing: {strict: true}``, or ``TTSBUILD_STRICT_TIMING=1`` in the environment (CI)."""
    env = os.environ.get("TTSBUILD_STRICT_TIMING", "").strip().lower()
    return options.strict or env in ("1", "true", "yes")


def problem_message(problem: TimingProblem, words: int, options: TimingOptions, rate: int) -> str:
    """One cue's trouble in words: seconds, and the words affected."""
    parts: list[str] = []
    if problem.ratio is not None:
        parts.append(
            f"stretched to {problem.ratio:.2f}x its length, beyond max_stretch "
            f"{options.max_stretch:g}"
        )
    if problem.late:
        parts.append(
            f"starts {problem.late / rate:.3f} s late, past shift_tolerance_ms "
            f"{options.shift_tolerance_ms:g}, pushed by the speech before it"
        )
    if problem.cut:
        lost = min(words, max(1, round(words * problem.cut_fraction)))
        parts.append(f"{problem.cut / rate:.3f} s of speech cut (overflow: cut)")
        return "; ".join(parts) + f" (about {lost} of {words} words cut)"
    return "; ".join(parts) + f" ({words} words)"


def _problems(
    plan: EpisodePlan,
    cues: Sequence[Mapping[str, Any]],
    by_cue: Mapping[int, Sequence[PlanItem]],
    timings: Sequence[CueTiming],
    options: TimingOptions,
    rate: int,
) -> list[dict[str, Any]]:
    """Log one warning per troubled cue and list them for the report; fail when strict."""
    out: list[dict[str, Any]] = []
    for problem in timing_problems(timings):
        cue = cues[problem.index - 1]
        items = by_cue.get(cue["cue"], ())
        words = sum(len(i.text.split()) for i in items if isinstance(i, Segment))
        message = problem_message(problem, words, options, rate)
        number = cue.get("number") or cue["cue"]
        where = f"{plan.source}:{cue.get('line')}"
        log.warning("ttsbuild: warning: %s: cue %s: %s", where, number, message)
        out.append(
            {
                "cue": cue["cue"],
                "number": cue.get("number"),
                "line": cue.get("line"),
                "cut": round(problem.cut / rate, 6),
                "late": round(problem.late / rate, 6),
                "stretch_ratio": None if problem.ratio is None else round(problem.ratio, 6),
                "words": words,
                "message": message,
            }
        )
    if out and strict_timing(options):
        first = out[0]
        raise TimingError(
            f"cue {first['number'] or first['cue']}: {first['message']}; {len(out)} cue(s) "
            "affected, and timing is strict (see the warnings above and docs/timing.md)",
            plan.source,
            first["line"],
        )
    return out


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
    problems = _problems(plan, cues, by_cue, timings, options, rate)
    total = timeline_length(timings, tail=padding)
    pieces: list[Piece] = []
    for cue, timing in zip(cues, timings):
        if timing.length <= 0:
            continue
        items = by_cue[cue["cue"]]
        placements, natural = layouts[cue["cue"]]
        build = partial(_placed_cue, items, placements, natural, timing, cache, settings)
        name = cache.derive(_cue_clip_name(items, timing, settings, cache), build)
        owner = next((i.speaker for i in items if isinstance(i, Segment)), "")
        content = _cue_clip_name(items, timing, settings, None)
        load = partial(cache.audio, name)
        owners = speaker_parts(items, placements, natural, timing)
        pieces.append(Piece(timing.start, name, cache.info(name), load, owner, content, owners))
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
        "problems": problems,
        "mastering": None,  # filled in after writing
        "cues": timing_report(timings, rate, cues),
    }
    summary = f"{options.mode}, {len(cues)} cues, {len(by_cue)} spoken; flags: " + (
        ", ".join(f"{k} {v}" for k, v in sorted(flags.items())) or "none"
    )
    return Layout(total, pieces, shown, report, summary, "\n" + format_table(timings, rate))
