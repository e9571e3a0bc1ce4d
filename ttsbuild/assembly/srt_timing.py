"""Subtitle timing: where each cue's audio goes, in integer samples (pure functions).

Input: per cue its target span from the subtitle file and the natural length of its audio.
Output: one :class:`CueTiming` per cue saying where the audio starts, how long it is after an
optional time stretch, what was truncated, and the span the adjusted SRT shows.

Four modes (docs/timing.md has diagrams), each with an ``overflow`` rule for a clip longer than
its room. ``push`` (the default) never loses speech: a clip is sped up by at most
``max_stretch`` where the mode stretches, and what is still too long pushes the following cues
later (they start when the speech before them ends, never before their own time, so they catch
up in later gaps); a cue pushed past ``shift_tolerance_ms`` is flagged ``late``. ``cut`` keeps
the older rules below, which may truncate.

``stretch_to_fit``
    every clip starts at its cue start and is stretched (pitch kept) to the cue's length
    (``push``: sped up no more than ``max_stretch``). With ``cut``, a cue that overlaps the next
    is fitted up to the next cue's start, and a zero-length cue keeps its natural length if it
    fits before the next cue, else is squeezed into that room.
``pad_with_silence``
    every clip starts at its cue start at natural speed; silence fills the rest. A clip may run
    on into the gap after its cue; with ``cut`` a clip longer than the room up to the next
    spoken cue is an ``overlap`` and is truncated at the next cue's start. The last clip is
    never truncated.
``smart_natural`` (default)
    natural speed first; a clip too long for its cue uses the gap up to the next cue, then
    pushes the next cue later by at most ``shift_tolerance_ms``, then speeds up by at most
    ``max_stretch``, then pushes further (``push``) or is truncated (``cut``). A short clip is
    padded.
``concatenate``
    cue times are ignored: clips follow each other with ``gap`` samples between them, and new
    cue times are built from the real durations.

:mod:`ttsbuild.assembly.cue_report` turns placements into the report, the log table and the
list of cues that were cut, stretched beyond ``max_stretch`` or are late.

Cues with nothing to speak (``natural == 0``) render nothing and constrain nothing: they keep
their own span (in ``concatenate`` their original length as silence). Zero-length and
overlapping source cues are handled as above and flagged, never an error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

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
TRUNCATED = "truncated"  # audio cut short (only with overflow: cut)
LATE = "late"  # starts later than its target by more than shift_tolerance_ms (overflow: push)
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


def _placed(
    span: CueSpan,
    start: int,
    stretched: int,
    length: int,
    next_start: int | None,
    flags: list[str],
    tolerance: int,
) -> CueTiming:
    """A spoken cue placed at ``start``: flags for the gap, the shift and lateness, the shown
    end, and how far it pushes the next spoken cue."""
    if start > span.start:
        flags.append(SHIFTED)
        if start - span.start > tolerance:
            flags.append(LATE)
    if start + length > span.end > span.start:
        flags.append(USED_GAP)
    audio_end = start + length
    shift_next = max(0, audio_end - next_start) if next_start is not None else 0
    next_final = max(next_start, audio_end) if next_start is not None else None
    end = max(_shown_end(span, audio_end, next_final), start)
    return CueTiming(
        span.start,
        span.end,
        span.natural,
        start,
        end,
        stretched,
        length,
        shift_next,
        tuple(flags),
    )


_Fit = Callable[[CueSpan, int, int | None, list[str]], tuple[int, int]]


def _in_turn(spans: Sequence[CueSpan], tolerance: int, fit: _Fit) -> list[CueTiming]:
    """Place spoken cues one after the other: each starts at its own time or, when the speech
    before it is still running, right after it. ``fit`` gives a clip's stretched and placed
    lengths from its span, start and the next spoken cue's start (and may add flags)."""
    out: list[CueTiming] = []
    audio_end = 0  # end of the last spoken cue's audio
    for span, next_start, flags in _walk(spans):
        if span.natural <= 0:
            out.append(_silent(span, flags))
            continue
        start = max(span.start, audio_end)
        stretched, length = fit(span, start, next_start, flags)
        out.append(_placed(span, start, stretched, length, next_start, flags, tolerance))
        audio_end = out[-1].audio_end
    return out


def _pad_with_silence(spans: Sequence[CueSpan], push: bool, tolerance: int) -> list[CueTiming]:
    if push:  # natural length, always: an overlong clip pushes what follows
        return _in_turn(
            spans, tolerance, lambda span, start, next_start, flags: (span.natural,) * 2
        )
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
        end = _shown_end(span, span.start + length, next_start)
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


def _stretch_to_fit_push(
    spans: Sequence[CueSpan], max_stretch: float, tolerance: int
) -> list[CueTiming]:
    """Each clip stretched to its cue's length, but sped up by at most ``max_stretch``: a clip
    still too long pushes what follows. Slowing down beyond the limit is flagged."""

    def fit(span: CueSpan, start: int, next_start: int | None, flags: list[str]) -> tuple[int, int]:
        n = span.natural
        target = n  # a zero-length cue keeps its natural length
        if span.end > span.start:
            target = span.end - span.start
            if next_start is not None:
                target = min(target, next_start - start)
        stretched = max(target, math.ceil(n / max_stretch), 1)  # sped up within the limit
        if stretched != n:
            flags.append(STRETCHED)
            if stretched > n * max_stretch:  # slowed down beyond it: every word still heard
                flags.append(BEYOND_MAX_STRETCH)
        return stretched, stretched

    return _in_turn(spans, tolerance, fit)


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


def _smart_natural(
    spans: Sequence[CueSpan], tolerance: int, max_stretch: float, push: bool
) -> list[CueTiming]:
    def fit(span: CueSpan, start: int, next_start: int | None, flags: list[str]) -> tuple[int, int]:
        n = span.natural
        if next_start is None:
            return n, n
        # The cue and the gap after it, up to the next cue, plus how far it may be pushed.
        room_shifted = max(0, next_start + tolerance - start)
        if n <= room_shifted:
            return n, n
        stretched = max(room_shifted, math.ceil(n / max_stretch))
        flags.append(STRETCHED)
        # push: the whole (sped-up) clip is heard and the next cue starts late;
        # cut: it ends where the tolerance ends.
        length = stretched if push else room_shifted
        if length < stretched:
            flags.append(TRUNCATED)
            if length == 0:
                flags.append(DROPPED)
        return stretched, length

    return _in_turn(spans, tolerance, fit)


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
    push = options.overflow == "push"
    tolerance = ms_to_samples_exact(round(options.shift_tolerance_ms), sample_rate)
    if options.mode == "pad_with_silence":
        timings = _pad_with_silence(spans, push, tolerance)
    elif options.mode == "stretch_to_fit" and push:
        timings = _stretch_to_fit_push(spans, options.max_stretch, tolerance)
    elif options.mode == "stretch_to_fit":
        timings = _stretch_to_fit(spans, options.max_stretch)
    elif options.mode == "smart_natural":
        timings = _smart_natural(spans, tolerance, options.max_stretch, push)
    else:
        timings = _concatenate(spans, lead_in, gap)
    return tuple(timings)


def timeline_length(timings: Sequence[CueTiming], tail: int = 0) -> int:
    """Samples needed to hold every cue's audio and shown span, plus ``tail``."""
    if not timings:
        return tail
    return max(max(t.end, t.audio_end) for t in timings) + tail
