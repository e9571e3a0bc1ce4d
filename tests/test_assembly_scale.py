"""Issue 18 finding 6: assembly must grow linearly with the number of subtitle cues.

100,000 one-millisecond cues, 5 ms apart, each with 0.3 s of audio (every cue overflows into
the next): placing them in every timing mode, and writing the timing report and table, is pure
per-cue work. A quadratic step anywhere in it would take hours here; linear takes seconds.
Figures for whole assemblies (clip preparation and mastering) are in docs/performance.md."""

from __future__ import annotations

import time

import pytest

from ttsbuild.assembly.cue_report import format_table, timing_report
from ttsbuild.assembly.srt_timing import CueSpan, place_cues, timeline_length
from ttsbuild.config.settings import TimingOptions

RATE = 24000
N = 100_000


@pytest.mark.parametrize(
    "mode", ["smart_natural", "stretch_to_fit", "pad_with_silence", "concatenate"]
)
def test_100k_one_millisecond_cues_place_in_linear_time(mode):
    spans = [CueSpan((1000 + i * 5) * 24, (1001 + i * 5) * 24, 7200) for i in range(N)]
    cues = [
        {"cue": i + 1, "number": i + 1, "line": 4 * i + 2, "display": "x", "descriptions": []}
        for i in range(N)
    ]
    started = time.perf_counter()
    timings = place_cues(spans, TimingOptions.from_dict({"mode": mode}), RATE, 6000, 8400)
    report = timing_report(timings, RATE, cues)
    table = format_table(timings, RATE)
    elapsed = time.perf_counter() - started
    assert len(timings) == len(report) == N and table.count("\n") >= N
    assert timeline_length(timings) >= timings[-1].start
    assert elapsed < 60, f"{mode}: {elapsed:.1f} s for {N} cues (about 3 s when linear)"
