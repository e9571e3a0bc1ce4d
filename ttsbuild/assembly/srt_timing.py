"""Subtitle timing: where each cue's audio goes, in integer samples (pure functions).

Input: per cue its target span from the subtitle file and the natural length of its audio.
Output: one :class:`CueTiming` per cue saying where the audio starts, how long it is after an
optional time stretch, what was truncated, and the span the adjusted SRT shows.

Four modes (docs/timing.md has diagrams):

``stretch_to_fit``
    every clip starts at its cue start and is stretched (pitch kept) to exactly the cue's
    length. A cue that overlaps the next is fitted up to the next cue's start; a zero-length
    cue keeps its natural length if it fits before the next cue, else is squeezed into that
    room.
``pad_with_silence``
    every clip starts at its cue start at natural speed; silence fills the rest. A clip may run
    on into the gap after its cue; a clip longer than the room up to the next spoken cue is an
    ``overlap`` and is truncated at the next cue's start (the rule that keeps every start exact
    and the audio free of overlaps). The last clip is never truncated.
``smart_natural`` (default)
    natural speed first; a clip too long for its cue uses the gap up to the next cue, then
    pushes the next cue later by at most ``shift_tolerance_ms``, then speeds up by at most
    ``max_stretch``, then, as a last resort, is truncated (flagged). A short clip is padded.
``concatenate``
    cue times are ignored: clips follow each other with ``gap`` samples between them, and new
    cue times are built from the real durations.

Cues with nothing to speak (``natural == 0``) render nothing and constrain nothing: they keep
their own span (in ``concatenate`` their original length as silence). Zero-length and
overlapping source cues are handled as above and flagged, never an error.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ttsbuild.config.settings import TimingOptions

# Flags a cue can carry in the timing report.
SILENT = "silent"  # nothing to speak: keeps its span, renders nothing
ZERO_LENGTH = "zero_length"  # the source cue ends at or before its start
SOURCE_OVERLAP = "source_overlap"  # the source cue ends after the next spoken cue starts
USED_GAP = "used_gap"  # the audio runs on past the cue's end, into the gap
SHIFTED = "shifted"  # starts later than its target (smart_natural)
STRETCHED = "stretched"  # time-stretched (ratio != 1)
BEYOND_MAX_STRETCH = "beyond_max_stretch"  # stretch_to_fit needed more than max_stretch
OVERLAP = "overlap"  # pad_with_silence: longer than the room to the next spoken cue
TRUNCATED = "truncated"  # audio cut short (a last resort)
DROPPED = "dropped"  # no room at all: nothing of the clip is heard


@dataclass(frozen=True)
class CueSpan:
    """A cue as timing sees it: target span and natural audio length, in samples."""

    start: int
    end: int
    natural: int  # 0: nothing to speak


@dataclass(frozen=True)
class CueTiming:
    """Where one cue ended up. ``start``..``audio_end`` is audio; ``end`` adds padding."""

    target_start: int
    target_end: int
    natural: int
    start: int
    end: int
    stretched: int  # audio length after the time stretch (== natural when not stretched)
    length: int  # samples placed: ``stretched - truncated``
    shift_next: int = 0  # how far this cue pushed the next spoken cue
    flags: tuple[str, ...] = ()

    @property
    def audio_end(self) -> int:
        return self.start + self.length

    @property
    def shift(self) -> int:
        return self.start - self.target_start

    @property
    def truncated(self) -> int:
        return self.stretched - self.length

    @property
    def pad(self) -> int:
        return max(0, self.end - self.audio_end)

    @property
    def ratio(self) -> float:
        """Output length over natural length (1.0: not stretched)."""
        return self.stretched / self.natural if self.natural else 1.0


def ms_to_samples_exact(ms: int, sample_rate: int) -> int:
    """Integer milliseconds to samples, rounded half up, in integer arithmetic.

    >>> ms_to_samples_exact(1001, 24000), ms_to_samples_exact(1, 44100)
    (24024, 44)
    """
    return (2 * ms * sample_rate + 1000) // 2000


def _walk(spans: Sequence[CueSpan]) -> Iterator[tuple[CueSpan, int | None, list[str]]]:
    """Each cue with the start of the next cue that has something to speak, and the flags
    the source itself earns."""
    following: list[int | None] = [None] * len(spans)
    after: int | None = None
    for i in range(len(spans) - 1, -1, -1):
        following[i] = after
        if spans[i].natural > 0:
            after = spans[i].start
    for span, next_start in zip(spans, following):
        yield span, next_start, _source_flags(span, next_start)


def _source_flags(span: CueSpan, next_start: int | None) -> list[str]:
    flags: list[str] = []
    if span.natural <= 0:
        flags.append(SILENT)
    if span.end <= span.start:
        flags.append(ZERO_LENGTH)
    if next_start is not None and span.end > next_start:
        flags.append(SOURCE_OVERLAP)
    return flags


def _silent(span: CueSpan, flags: list[str]) -> CueTiming:
    end = max(span.start, span.end)
    return CueTiming(span.start, span.end, 0, span.start, end, 0, 0, 0, tuple(flags))


def _shown_end(span: CueSpan, audio_end: int, next_start: int | None) -> int:
    """The end the adjusted SRT shows: the cue's own end (padded) or the audio end, never
    past the next spoken cue's start unless the audio itself runs there."""
    end = max(span.end, span.start)
    if next_start is not None:
        end = min(end, next_start)
    return max(end, audio_end)


def _pad_with_silence(spans: Sequence[CueSpan]) -> list[CueTiming]:
    out: list[CueTiming] = []
    for span, next_start, flags in _walk(spans):
        if span.natural <= 0:
            out.append(_silent(span, flags))
            continue
        room = next_start - span.start if next_start is not None else span.natural
        length = max(0, min(span.natural, room))
        if length < span.natural:
            flags += [OVERLAP, TRUNCATED] + ([DROPPED] if length == 0 else [])
        elif span.start + length > span.end > span.start:
            flags.append(USED_GAP)
        audio_end = span.start + length
        end = _shown_end(span, audio_end, next_start)
        out.append(
            CueTiming(
                span.start,
                span.end,
                span.natural,
                span.start,
                end,
                span.natural,
                length,
                0,
                tuple(flags),
            )
        )
    return out


def _stretch_to_fit(spans: Sequence[CueSpan], max_stretch: float) -> list[CueTiming]:
    out: list[CueTiming] = []
    for span, next_start, flags in _walk(spans):
        if span.natural <= 0:
            out.append(_silent(span, flags))
            continue
        room = next_start - span.start if next_start is not None else None
        if span.end > span.start:
            target = span.end - span.start if room is None else min(span.end - span.start, room)
        else:  # zero-length cue: natural length if it fits before the next cue
            target = span.natural if room is None else min(span.natural, room)
        target = max(0, target)
        if target == 0:
            flags += [TRUNCATED, DROPPED]
            out.append(
                CueTiming(
                    span.start,
                    span.end,
                    span.natural,
                    span.start,
                    span.start,
                    span.natural,
                    0,
                    0,
                    tuple(flags),
                )
            )
            continue
        if target != span.natural:
            flags.append(STRETCHED)
            ratio = target / span.natural
            if ratio > max_stretch or ratio * max_stretch < 1.0:
                flags.append(BEYOND_MAX_STRETCH)
        out.append(
            CueTiming(
                span.start,
                span.end,
                span.natural,
                span.start,
                span.start + target,
                target,
                target,
                0,
                tuple(flags),
            )
        )
    return out


def _smart_natural(spans: Sequence[CueSpan], tolerance: int, max_stretch: float) -> list[CueTiming]:
    out: list[CueTiming] = []
    audio_end = 0  # end of the last spoken cue's audio
    for span, next_start, flags in _walk(spans):
        if span.natural <= 0:
            out.append(_silent(span, flags))
            continue
        start = max(span.start, audio_end)
        if start > span.start:
            flags.append(SHIFTED)
        n = span.natural
        stretched = length = n
        shift_next = 0
        if next_start is not None:
            room = next_start - start  # the cue and the gap after it, up to the next cue
            room_shifted = next_start + tolerance - start  # >= 0: start <= next_start + tol
            if n > room:
                if n > room_shifted:
                    shortest = math.ceil(n / max_stretch)
                    stretched = max(room_shifted, shortest)
                    length = room_shifted
                    flags.append(STRETCHED)
                    if length < stretched:
                        flags.append(TRUNCATED)
                        if length == 0:
                            flags.append(DROPPED)
                shift_next = max(0, start + length - next_start)
        if start + length > span.end > span.start:
            flags.append(USED_GAP)
        audio_end = start + length
        next_final = max(next_start, audio_end) if next_start is not None else None
        end = _shown_end(span, audio_end, next_final)
        end = max(end, start)
        out.append(
            CueTiming(
                span.start, span.end, n, start, end, stretched, length, shift_next, tuple(flags)
            )
        )
    return out


def _concatenate(spans: Sequence[CueSpan], lead_in: int, gap: int) -> list[CueTiming]:
    out: list[CueTiming] = []
    pos = lead_in
    placed = False  # a gap goes between two cues that take time, never after the last
    for span, _, flags in _walk(spans):
        # A silent cue keeps its own length, as silence; a spoken one takes its audio's length.
        length = span.natural if span.natural > 0 else max(0, span.end - span.start)
        if length and placed:
            pos += gap
        audio = max(0, span.natural)
        out.append(
            CueTiming(span.start, span.end, audio, pos, pos + length, audio, audio, 0, tuple(flags))
        )
        pos += length
        placed = placed or length > 0
    return out


def place_cues(
    spans: Sequence[CueSpan],
    options: TimingOptions,
    sample_rate: int,
    lead_in: int = 0,
    gap: int = 0,
) -> tuple[CueTiming, ...]:
    """Place every cue for ``options.mode``; ``lead_in`` and ``gap`` apply to concatenate.

    >>> [(t.start, t.length, t.flags) for t in place_cues(
    ...     [CueSpan(0, 100, 150), CueSpan(300, 400, 50)], TimingOptions.from_dict({"mode": "pad_with_silence"}), 1000)]
    [(0, 150, ('used_gap',)), (300, 50, ())]
    """
    if options.mode == "pad_with_silence":
        timings = _pad_with_silence(spans)
    elif options.mode == "stretch_to_fit":
        timings = _stretch_to_fit(spans, options.max_stretch)
    elif options.mode == "smart_natural":
        tolerance = ms_to_samples_exact(round(options.shift_tolerance_ms), sample_rate)
        timings = _smart_natural(spans, tolerance, options.max_stretch)
    else:
        timings = _concatenate(spans, lead_in, gap)
    return tuple(timings)


def timeline_length(timings: Sequence[CueTiming], tail: int = 0) -> int:
    """Samples needed to hold every cue's audio and shown span, plus ``tail``."""
    if not timings:
        return tail
    return max(max(t.end, t.audio_end) for t in timings) + tail


def timing_report(
    timings: Sequence[CueTiming], sample_rate: int, cues: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Per-cue report entries (samples, seconds and the actions taken)."""

    def sec(samples: int) -> float:
        return round(samples / sample_rate, 6)

    report: list[dict[str, Any]] = []
    for t, cue in zip(timings, cues):
        report.append(
            {
                "cue": cue["cue"],
                "number": cue.get("number"),
                "line": cue.get("line"),
                "text": cue.get("display", ""),
                "target": {
                    "start_sample": t.target_start,
                    "end_sample": t.target_end,
                    "start": sec(t.target_start),
                    "end": sec(t.target_end),
                },
                "natural_samples": t.natural,
                "natural": sec(t.natural),
                "actions": {
                    "shift_samples": t.shift,
                    "shift": sec(t.shift),
                    "shift_next_samples": t.shift_next,
                    "stretch_ratio": round(t.ratio, 6),
                    "pad_samples": t.pad,
                    "truncate_samples": t.truncated,
                },
                "final": {
                    "start_sample": t.start,
                    "end_sample": t.end,
                    "audio_end_sample": t.audio_end,
                    "start": sec(t.start),
                    "end": sec(t.end),
                },
                "flags": list(t.flags),
            }
        )
    return report


def format_table(timings: Sequence[CueTiming], sample_rate: int) -> str:
    """A fixed-width table of the placements (seconds), for the log.

    >>> print(format_table(place_cues([CueSpan(0, 1000, 1500)], TimingOptions.from_dict(), 1000), 1000))
      cue      target span   natural       final span    shift  ratio   trunc  flags
        1   0.000..  1.000     1.500   0.000..  1.500    0.000  1.000   0.000  used_gap
    """

    def s(samples: int) -> str:
        return f"{samples / sample_rate:7.3f}"

    header = (
        f"{'cue':>5} {'target span':>16} {'natural':>9} {'final span':>16} {'shift':>8} "
        f"{'ratio':>6} {'trunc':>7}  flags"
    )
    lines = [header]
    for i, t in enumerate(timings, start=1):
        lines.append(
            f"{i:5d} {s(t.target_start)}..{s(t.target_end)} {s(t.natural):>9} "
            f"{s(t.start)}..{s(t.end)} {s(t.shift):>8} {t.ratio:6.3f} {s(t.truncated):>7}  "
            f"{','.join(t.flags)}".rstrip()
        )
    return "\n".join(lines)
