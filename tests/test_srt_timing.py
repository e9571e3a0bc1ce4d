"""Subtitle timing modes: worked examples and property tests of their invariants."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ttsbuild.assembly.cue_report import timing_problems, timing_report
from ttsbuild.assembly.srt_timing import (
    CueSpan,
    ms_to_samples_exact,
    place_cues,
    timeline_length,
)
from ttsbuild.config.settings import TIMING_MODES as MODES
from ttsbuild.config.settings import TimingOptions

RATE = 1000  # one sample per millisecond keeps the examples readable


def place(spans, mode, **kw):
    return place_cues(
        [CueSpan(*s) for s in spans], TimingOptions.from_dict({"mode": mode, **kw}), RATE, 50, 10
    )


def test_pad_with_silence_cut_truncates_only_into_the_next_cue():
    t = place(
        [(0, 100, 80), (200, 300, 250), (300, 400, 30), (1000, 1100, 500)],
        "pad_with_silence",
        overflow="cut",
    )
    assert [x.start for x in t] == [0, 200, 300, 1000]
    assert [x.length for x in t] == [80, 100, 30, 500]  # cue 2 cut at cue 3's start
    assert t[1].flags == ("overlap", "truncated") and t[1].truncated == 150
    assert t[0].pad == 20 and t[0].end == 100
    assert t[3].flags == ("used_gap",) and t[3].length == 500  # the last clip is never cut


def test_stretch_to_fit_cut_hits_every_cue_length():
    t = place(
        [(0, 100, 80), (200, 300, 250), (500, 500, 40), (600, 620, 40), (610, 700, 50)],
        "stretch_to_fit",
        max_stretch=2.0,
        overflow="cut",
    )
    assert [(x.start, x.length) for x in t] == [
        (0, 100),
        (200, 100),
        (500, 40),
        (600, 10),
        (610, 90),
    ]
    assert t[0].ratio == pytest.approx(1.25) and t[0].flags == ("stretched",)
    assert "beyond_max_stretch" in t[1].flags  # 250 -> 100 is a 2.5x squeeze
    assert t[2].flags == ("zero_length",) and t[2].ratio == 1.0  # natural length fits
    assert "source_overlap" in t[3].flags  # fitted up to the next cue's start


def test_smart_natural_ladder():
    # gap, shift (tolerance 100), stretch (max 1.25), truncate
    t = place(
        [(0, 100, 150), (300, 400, 200), (500, 600, 90), (1000, 1100, 400), (1300, 1400, 50)],
        "smart_natural",
        shift_tolerance_ms=100,
        max_stretch=1.25,
    )
    a, b, c, d, e = t
    assert (a.start, a.length, a.flags) == (0, 150, ("used_gap",))  # uses the gap
    assert (b.start, b.length, b.shift_next) == (300, 200, 0)  # exactly fills up to cue 3
    assert (c.start, c.length) == (500, 90)
    assert c.pad == 10  # padded to its own end
    # cue 4: room 300 (+100 shift) = 400 fits 400: cue 5 is pushed by 100, no stretch
    assert (d.start, d.length, d.shift_next, d.ratio) == (1000, 400, 100, 1.0)
    assert (e.start, e.shift, e.flags) == (1400, 100, ("shifted", "used_gap"))
    t2 = place(
        [(0, 100, 150), (100, 200, 50)], "smart_natural", shift_tolerance_ms=20, max_stretch=1.25
    )
    assert (t2[0].stretched, t2[0].length, t2[0].flags) == (120, 120, ("stretched", "used_gap"))
    assert t2[0].ratio == pytest.approx(0.8)
    t3 = place(
        [(0, 100, 300), (100, 200, 50)],
        "smart_natural",
        shift_tolerance_ms=20,
        max_stretch=1.25,
        overflow="cut",
    )
    assert (t3[0].stretched, t3[0].length) == (240, 120)  # sped up 1.25x, then truncated
    assert "truncated" in t3[0].flags and t3[0].truncated == 120


# The case: a 1.0 s cue holding 4.6 s of speech, a 0.2 s gap, then more cues.
OVERLONG = [(0, 1000, 4600), (1200, 2200, 500), (8000, 9000, 500)]


def test_push_is_the_default_and_keeps_every_word_in_every_mode():
    for mode in ("smart_natural", "pad_with_silence", "stretch_to_fit"):
        a, b, c = place(OVERLONG, mode, shift_tolerance_ms=2000, max_stretch=1.25)
        assert a.truncated == 0 and b.truncated == 0 and "truncated" not in a.flags, mode
        assert a.start == 0 and a.audio_end <= b.start, mode
        assert b.start > 1200 and "late" in b.flags, mode  # pushed past the 2 s tolerance
        assert c.start == 8000 and "shifted" not in c.flags, mode  # caught up in the gap
    pad = place(OVERLONG, "pad_with_silence")
    assert (pad[0].length, pad[1].start, pad[1].shift) == (4600, 4600, 3400)
    smart = place(OVERLONG, "smart_natural")
    assert (smart[0].stretched, smart[0].length) == (3680, 3680)  # sped up 1.25x, not cut
    fit = place(OVERLONG, "stretch_to_fit")
    assert (fit[0].length, fit[1].start) == (3680, 3680)  # no faster than max_stretch


def test_stretch_to_fit_push_fills_the_cue_and_flags_a_slow_down_beyond_the_limit():
    (t,) = place([(0, 1000, 400)], "stretch_to_fit", max_stretch=1.25)
    assert (t.stretched, t.end, t.flags) == (1000, 1000, ("stretched", "beyond_max_stretch"))


def test_cut_only_when_asked():
    for mode in ("smart_natural", "pad_with_silence"):
        a = place(OVERLONG, mode, overflow="cut")[0]
        assert a.truncated > 0 and "truncated" in a.flags
    fit = place(OVERLONG, "stretch_to_fit", overflow="cut")[0]
    assert "beyond_max_stretch" in fit.flags and fit.length == 1000


def test_concatenate_rebuilds_times_from_durations():
    t = place([(5000, 6000, 80), (0, 0, 0), (7000, 7100, 0), (9000, 9500, 30)], "concatenate")
    assert [(x.start, x.end) for x in t] == [(50, 130), (130, 130), (140, 240), (250, 280)]
    assert timeline_length(t, tail=50) == 330


def test_silent_cues_keep_their_span_and_constrain_nothing():
    for mode in ("smart_natural", "pad_with_silence", "stretch_to_fit"):
        t = place([(0, 100, 150), (120, 300, 0), (400, 500, 50)], mode)
        assert (t[1].start, t[1].end, t[1].length, t[1].flags) == (120, 300, 0, ("silent",))
        if mode != "stretch_to_fit":
            assert t[0].length == 150  # runs on over the silent cue


def test_report_has_target_actions_final_and_flags():
    t = place([(0, 100, 150), (120, 300, 0)], "smart_natural")
    report = timing_report(t, RATE, [{"cue": 1, "display": "Hi"}, {"cue": 2, "display": ""}])
    assert report[0]["target"] == {"start_sample": 0, "end_sample": 100, "start": 0.0, "end": 0.1}
    assert report[0]["actions"]["stretch_ratio"] == 1.0
    assert report[0]["final"]["audio_end_sample"] == 150
    assert report[1]["flags"] == ["silent"]


def test_ms_to_samples_is_exact_integer_rounding():
    assert ms_to_samples_exact(3_600_000 * 10 + 1, 44100) == 36000 * 44100 + 44
    assert ms_to_samples_exact(1, 24000) == 24


# ---------------------------------------------------------------- properties

spans_strategy = st.lists(
    st.tuples(
        st.integers(0, 20_000),  # start
        st.integers(-500, 3_000),  # length (zero and negative: broken source cues)
        st.one_of(st.just(0), st.integers(1, 4_000)),  # natural (0: silent)
    ),
    max_size=25,
).map(lambda xs: [CueSpan(s, s + d, n) for s, d, n in sorted(xs, key=lambda x: x[0])])


def audible(timings):
    return sorted((t for t in timings if t.length > 0), key=lambda t: t.start)


@settings(max_examples=300, deadline=None)
@given(
    spans=spans_strategy,
    mode=st.sampled_from(MODES),
    tolerance=st.integers(0, 3000),
    max_stretch=st.floats(1.0, 3.0),
    overflow=st.sampled_from(["push", "cut"]),
)
def test_invariants(spans, mode, tolerance, max_stretch, overflow):
    options = TimingOptions(mode, tolerance, max_stretch, overflow, False)
    timings = place_cues(spans, options, RATE, lead_in=7, gap=3)
    assert len(timings) == len(spans)
    ordered = audible(timings)
    for a, b in itertools.pairwise(ordered):
        assert a.audio_end <= b.start, (a, b)  # no overlapping audio, in any mode
    for span, t in zip(spans, timings):
        assert 0 <= t.length <= t.stretched
        assert t.end >= t.start
        assert ("truncated" in t.flags) == (t.length < t.stretched)
        if span.natural == 0:
            assert t.length == 0 and "silent" in t.flags
            continue
        if mode == "concatenate":
            assert t.length == span.natural and "truncated" not in t.flags
            continue  # cue times are rebuilt from the audio
        assert t.start >= span.start  # never early
        if overflow == "push":
            # No speech is lost, and no clip is sped up or slowed down beyond max_stretch.
            assert t.length == t.stretched and "truncated" not in t.flags
            assert math.ceil(span.natural / max_stretch) - 1 <= t.stretched
            if "beyond_max_stretch" not in t.flags:
                assert t.stretched <= span.natural * max_stretch + 1
            assert ("late" in t.flags) == (t.shift > tolerance)
        if mode == "pad_with_silence":
            assert t.stretched == span.natural and t.length + t.truncated == span.natural
        if overflow == "cut" and mode in ("pad_with_silence", "stretch_to_fit"):
            assert abs(t.start - span.start) <= 1  # every clip starts on its target
        if overflow == "cut" and mode == "stretch_to_fit" and span.end > span.start:
            if "dropped" not in t.flags:
                assert t.length <= span.end - span.start
                if "source_overlap" not in t.flags:
                    assert t.length == span.end - span.start  # exactly the cue's duration
        if mode == "smart_natural":
            assert 0 <= t.shift
            if overflow == "cut":
                assert t.shift <= options.shift_tolerance_ms
            assert t.stretched <= span.natural  # only ever sped up ...
            assert t.stretched >= math.ceil(span.natural / max_stretch) - 1  # ... within the max
    if mode == "concatenate":
        held = sum(max(0, s.end - s.start) for s in spans if s.natural == 0)
        used = sum(s.natural for s in spans) + held
        joins = sum(1 for s in spans if s.natural > 0 or s.end > s.start)
        expected = 7 + used + 3 * (joins - 1) if joins else (7 if spans else 0)
        assert timeline_length(timings) == expected


def test_timing_problems_name_seconds_and_words(monkeypatch):
    from ttsbuild.assembly.cues import problem_message, strict_timing

    push = TimingOptions.from_dict({"mode": "pad_with_silence", "shift_tolerance_ms": 2000})
    (late,) = timing_problems(place_cues([CueSpan(*s) for s in OVERLONG], push, RATE))
    assert (late.index, late.late, late.cut) == (2, 3400, 0)
    assert problem_message(late, 2, push, RATE) == (
        "starts 3.400 s late, past shift_tolerance_ms 2000, pushed by the speech before it "
        "(2 words)"
    )
    cut = TimingOptions.from_dict({"mode": "pad_with_silence", "overflow": "cut"})
    (lost,) = timing_problems(place_cues([CueSpan(*s) for s in OVERLONG], cut, RATE))
    assert (lost.index, lost.cut) == (1, 3400)  # 4.6 s of speech in 1.2 s of room
    assert problem_message(lost, 20, cut, RATE) == (
        "3.400 s of speech cut (overflow: cut) (about 15 of 20 words cut)"
    )
    monkeypatch.delenv("TTSBUILD_STRICT_TIMING", raising=False)
    assert not strict_timing(cut) and strict_timing(TimingOptions.from_dict({"strict": True}))
    monkeypatch.setenv("TTSBUILD_STRICT_TIMING", "1")
    assert strict_timing(cut)


def test_dubbing_preset_warns_where_the_default_lets_a_late_cue_pass():
    # (issue 26) 2 s of tolerance let cues start more than 1 s late without a warning
    from ttsbuild.config.schema import with_defaults

    spans = [CueSpan(0, 1000, 2900), CueSpan(1000, 2000, 500)]  # the first overflows by ~1.2 s
    default = TimingOptions.from_dict({})
    dubbing = TimingOptions.from_dict(with_defaults("timing", {"preset": "dubbing"}))
    assert (dubbing.shift_tolerance_ms, dubbing.max_stretch) == (200, 1.12)
    assert "late" not in place_cues(spans, default, 1000)[1].flags
    late = place_cues(spans, dubbing, 1000)[1]
    assert "late" in late.flags and late.start - 1000 > 200
    mine = TimingOptions.from_dict(
        with_defaults("timing", {"preset": "dubbing", "max_stretch": 1.3})
    )
    assert (mine.shift_tolerance_ms, mine.max_stretch) == (200, 1.3)  # given values win
