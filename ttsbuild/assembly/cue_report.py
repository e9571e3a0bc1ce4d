"""What subtitle placement did, for people: the per-cue report, the log table, and the cues
that were cut, stretched beyond ``max_stretch`` or are late (pure functions over
:class:`~ttsbuild.assembly.srt_timing.CueTiming`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ttsbuild.assembly.srt_timing import (
    BEYOND_MAX_STRETCH,
    LATE,
    TRUNCATED,
    CueTiming,
)


@dataclass(frozen=True)
class TimingProblem:
    """A cue whose speech is not heard as written: cut short, stretched beyond
    ``max_stretch``, or started later than ``shift_tolerance_ms`` allows."""

    index: int  # 1-based position of the cue
    cut: int  # samples cut off its end
    late: int  # samples it starts after its target (0 unless flagged late)
    ratio: float | None  # the stretch ratio, when beyond max_stretch
    heard: int  # samples of the (stretched) clip that are heard

    @property
    def cut_fraction(self) -> float:
        """The share of the cue's speech that is cut (for "about N of M words")."""
        return self.cut / (self.cut + self.heard) if self.cut else 0.0


def timing_problems(timings: Sequence[CueTiming]) -> tuple[TimingProblem, ...]:
    """The cues that lost speech, were stretched beyond the limit or start late, in order.

    >>> from ttsbuild.assembly.srt_timing import CueSpan, TimingOptions, place_cues
    >>> opts = TimingOptions.from_dict({"mode": "pad_with_silence", "shift_tolerance_ms": 0})
    >>> timing_problems(place_cues([CueSpan(0, 100, 150), CueSpan(100, 200, 50)], opts, 1000))
    (TimingProblem(index=2, cut=0, late=50, ratio=None, heard=50),)
    """
    out: list[TimingProblem] = []
    for i, t in enumerate(timings, start=1):
        cut = t.truncated if TRUNCATED in t.flags else 0
        late = t.shift if LATE in t.flags else 0
        ratio = t.ratio if BEYOND_MAX_STRETCH in t.flags else None
        if cut or late or ratio is not None:
            out.append(TimingProblem(i, cut, late, ratio, t.length))
    return tuple(out)


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

    >>> from ttsbuild.assembly.srt_timing import CueSpan, TimingOptions, place_cues
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
