"""Pure timing: place segments and pauses on a timeline in integer samples; SRT formatting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def ms_to_samples(ms: float, sample_rate: int) -> int:
    """Milliseconds to samples, rounded half up (the one conversion into sample time)."""
    return int(ms * sample_rate / 1000 + 0.5)


def samples_to_ms(samples: int, sample_rate: int) -> int:
    """Samples to whole milliseconds, rounded half up (the one conversion out, for SRT)."""
    return (samples * 1000 * 2 + sample_rate) // (2 * sample_rate)


@dataclass(frozen=True)
class Slot:
    """A plan item as timing sees it: a clip of ``samples`` or a pause."""

    kind: str  # "segment" | "pause"
    samples: int
    line: int = 0
    chunk: int = 0
    sound: int = 0  # a pause's sound (a scene break's sting), in samples: centered in it


@dataclass(frozen=True)
class Placement:
    index: int  # index of the slot
    start: int
    end: int


def place(
    slots: Sequence[Slot],
    sample_rate: int,
    gap_ms: float,
    chunk_gap_ms: float,
    padding_ms: float,
) -> tuple[list[Placement], int]:
    """Lay clips end to end. Between two clips goes ``gap_ms`` (``chunk_gap_ms`` between chunks
    of one line); explicit pauses replace that gap. A pause with a sound lasts at least the
    sound, which is centered in it and placed too. Returns placements and the total length.

    >>> place([Slot("segment", 100), Slot("pause", 50), Slot("segment", 10)], 1000, 20, 5, 0)
    ([Placement(index=0, start=0, end=100), Placement(index=2, start=150, end=160)], 160)
    >>> place([Slot("segment", 100), Slot("pause", 50, sound=30), Slot("segment", 10)],
    ...       1000, 20, 5, 0)[0][1]
    Placement(index=1, start=110, end=140)
    """
    pos = ms_to_samples(padding_ms, sample_rate)
    placements: list[Placement] = []
    pending_pause = 0
    have_pause = False
    previous: Slot | None = None
    for i, slot in enumerate(slots):
        if slot.kind == "pause":
            length = max(slot.samples, slot.sound)
            if slot.sound:
                start = pos + pending_pause + (length - slot.sound) // 2
                placements.append(Placement(i, start, start + slot.sound))
            pending_pause += length
            have_pause = True
            continue
        if previous is not None:
            if have_pause:
                pos += pending_pause
            elif previous.line == slot.line and slot.chunk == previous.chunk + 1:
                pos += ms_to_samples(chunk_gap_ms, sample_rate)
            else:
                pos += ms_to_samples(gap_ms, sample_rate)
        elif have_pause:
            pos += pending_pause
        pending_pause, have_pause = 0, False
        placements.append(Placement(i, pos, pos + slot.samples))
        pos += slot.samples
        previous = slot
    pos += pending_pause + ms_to_samples(padding_ms, sample_rate)
    return placements, pos


def srt_timestamp(samples: int, sample_rate: int) -> str:
    """``HH:MM:SS,mmm`` for a sample position.

    >>> srt_timestamp(24000 * 3723 + 12, 24000)
    '01:02:03,001'
    """
    ms = samples_to_ms(samples, sample_rate)
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d},{millis:03d}"


def format_srt(cues: Sequence[tuple[int, int, str]], sample_rate: int) -> str:
    """SRT text for (start_sample, end_sample, text) cues, numbered from 1."""
    blocks = [
        f"{n}\n{srt_timestamp(start, sample_rate)} --> {srt_timestamp(end, sample_rate)}\n{text}\n"
        for n, (start, end, text) in enumerate(cues, start=1)
    ]
    return "\n".join(blocks)
