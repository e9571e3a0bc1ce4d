"""Predicting subtitle overflow before rendering, for ``ttsbuild check`` and ``ttsbuild plan``.

Each spoken cue's speech length is estimated from its text and its speaker's speaking rate:
measured from that speaker's segments in the store (sidecars hold the text, the parameters and
the length), else the engine's default (``EngineInfo.chars_per_second``). The estimates go
through the same pure placement as the build (:func:`ttsbuild.assembly.srt_timing.place_cues`)
with the episode's timing options, so the prediction says what the build will do.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ttsbuild.assembly.cue_report import timing_problems
from ttsbuild.assembly.cues import problem_message
from ttsbuild.assembly.srt_timing import CueSpan, place_cues
from ttsbuild.config.settings import OutputSettings, TimingOptions
from ttsbuild.engines import get_engine
from ttsbuild.planning.plan import EpisodePlan, Segment, Silence
from ttsbuild.store.segments import read_sidecar, segment_path, sidecar_keys

MS = 1000  # the prediction places cues in milliseconds


@dataclass(frozen=True)
class SpeakingRate:
    chars_per_second: float  # at speed 1
    measured_from: int  # stored segments it was measured from; 0: the engine's default

    def describe(self, speaker: str) -> str:
        if self.measured_from:
            return (
                f"{speaker}: {self.chars_per_second:.1f} chars/s measured from "
                f"{self.measured_from} stored segments"
            )
        return f"{speaker}: {self.chars_per_second:.1f} chars/s, the engine's default"


@dataclass(frozen=True)
class PredictedOverflow:
    cue: int
    number: int | None
    line: int
    message: str
    problem: bool = True  # the build would warn (late, cut, over-stretched); else absorbed
    excess_ms: float = 0.0  # how much longer than its room the speech is
    measured: bool = False  # every segment's length came from the store, not a rate


@dataclass(frozen=True)
class OverflowSummary:
    """One episode's prediction in one line, and its worst cues."""

    spoken: int
    predicted: list[PredictedOverflow]

    def line(self, source: str) -> str:
        problems = [o for o in self.predicted if o.problem]
        measured = sum(1 for o in self.predicted if o.measured)
        return (
            f"{source}: {self.spoken} spoken cues, {len(self.predicted)} longer than their "
            f"room: {len(self.predicted) - len(problems)} absorbed by the timing (gaps, speed), "
            f"{len(problems)} would warn; {measured} of them measured from stored segments"
        )

    def worst(self, n: int) -> list[PredictedOverflow]:
        """The cues the build would warn about, most overflowing first."""
        problems = [o for o in self.predicted if o.problem]
        return sorted(problems, key=lambda o: (-o.excess_ms, o.cue))[:n]


def measured_rates(store: Path) -> dict[str, SpeakingRate]:
    """Each speaker's speaking rate at speed 1, from the segments in the store."""
    chars: dict[str, int] = defaultdict(int)
    seconds: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    if not store.is_dir():
        return {}
    for key in sorted(sidecar_keys(store)):
        side = read_sidecar(store, key)
        if side is None or side.samples <= 0 or not segment_path(store, key).exists():
            continue
        chars[side.speaker] += len(side.request.text)
        seconds[side.speaker] += side.samples / side.sample_rate * side.request.param("speed", 1.0)
        count[side.speaker] += 1
    return {s: SpeakingRate(chars[s] / seconds[s], count[s]) for s in count if seconds[s] > 0}


def _rate(seg: Segment, measured: Mapping[str, SpeakingRate]) -> SpeakingRate:
    return measured.get(seg.speaker) or SpeakingRate(
        get_engine(seg.request.engine).info.chars_per_second, 0
    )


def _stored_ms(store: Path | None, key: str) -> float | None:
    """A stored segment's length in ms (its sidecar), or None."""
    side = read_sidecar(store, key) if store is not None else None
    if side is None or side.samples <= 0 or side.sample_rate <= 0:
        return None
    return side.samples / side.sample_rate * MS


def summarize_overflow(
    plan: EpisodePlan,
    output: OutputSettings,
    measured: Mapping[str, SpeakingRate],
    store: Path | None = None,
) -> OverflowSummary:
    spoken = len({i.cue for i in plan.items if isinstance(i, Segment) and i.cue is not None})
    return OverflowSummary(spoken, predict_overflow(plan, output, measured, store))


def _estimates(
    plan: EpisodePlan,
    output: OutputSettings,
    measured: Mapping[str, SpeakingRate],
    store: Path | None,
) -> tuple[dict[int, list[Segment | Silence]], dict[int, float], dict[int, list[str]], set[int]]:
    """Per cue: its items, its estimated speech in ms, the rates used, and whether every one
    of its segments is stored (then the estimate is exact)."""
    by_cue: dict[int, list[Segment | Silence]] = defaultdict(list)
    for item in plan.items:
        if item.cue is not None:
            by_cue[item.cue].append(item)
    estimate: dict[int, float] = {}
    rates: dict[int, list[str]] = {}
    exact: set[int] = set()
    for cue, items in by_cue.items():
        segments = [i for i in items if isinstance(i, Segment)]
        ms = sum(i.milliseconds for i in items if isinstance(i, Silence))
        ms += output.chunk_gap_ms * max(0, len(items) - 1)
        known = 0
        for seg in segments:
            stored = _stored_ms(store, seg.key)
            if stored is not None:
                ms, known = ms + stored, known + 1
                continue
            rate = _rate(seg, measured)
            ms += len(seg.text) / (rate.chars_per_second * seg.request.param("speed", 1.0)) * MS
        estimate[cue] = ms
        if segments and known == len(segments):
            exact.add(cue)
            rates[cue] = ["measured: every segment stored"]
        else:
            rates[cue] = sorted({_rate(s, measured).describe(s.speaker) for s in segments})
    return by_cue, estimate, rates, exact


def predict_overflow(
    plan: EpisodePlan,
    output: OutputSettings,
    measured: Mapping[str, SpeakingRate],
    store: Path | None = None,
) -> list[PredictedOverflow]:
    """The spoken cues whose estimated speech is longer than the room up to the next spoken
    cue, with what the timing mode will do about it. Empty for scripts and ``concatenate``.

    A segment already in ``store`` counts with its own length; the others with their
    speaker's rate."""
    srt = plan.extra.get("srt")
    if srt is None:
        return []
    options = TimingOptions.from_dict(srt["timing"])
    if options.mode == "concatenate":
        return []
    by_cue, estimate, rates, exact = _estimates(plan, output, measured, store)
    cues = srt["cues"]
    spans = [
        CueSpan(int(c["start_ms"]), int(c["end_ms"]), round(estimate.get(c["cue"], 0)))
        for c in cues
    ]
    timings = place_cues(spans, options, MS)
    problems = {p.index: p for p in timing_problems(timings)}
    out: list[PredictedOverflow] = []
    next_start: int | None = None
    for i in range(len(cues) - 1, -1, -1):
        span, cue = spans[i], cues[i]
        if span.natural <= 0:
            continue
        room = next_start - span.start if next_start is not None else None
        next_start = span.start
        if room is None or span.natural <= room:
            continue
        segments = [s for s in by_cue[cue["cue"]] if isinstance(s, Segment)]
        words = sum(len(s.text.split()) for s in segments)
        t = timings[i]
        if i + 1 in problems:
            outcome = problem_message(problems[i + 1], words, options, MS)
        elif t.shift_next:
            outcome = f"it pushes the next cue about {t.shift_next / MS:.1f} s later"
        elif t.stretched != t.natural:
            outcome = f"it is sped up {1 / t.ratio:.2f}x"
        else:
            outcome = "it runs into the next cue's time"
        out.append(
            PredictedOverflow(
                cue["cue"],
                cue.get("number"),
                int(cue["line"]),
                f"likely to overflow: about {span.natural / MS:.1f} s of speech for "
                f"{room / MS:.1f} s up to the next spoken cue ({'; '.join(rates[cue['cue']])}); "
                f"timing {options.mode}, overflow {options.overflow}: {outcome}",
                # a warning for this cue, or the next one made late by this one's push
                i + 1 in problems or (t.shift_next > 0 and problems.get(i + 2) is not None),
                float(span.natural - room),
                cue["cue"] in exact,
            )
        )
    return sorted(out, key=lambda o: o.cue)
