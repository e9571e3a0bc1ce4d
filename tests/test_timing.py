"""Integer-sample placement and SRT formatting."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ttsbuild.assembly.timing import Slot, format_srt, ms_to_samples, place, samples_to_ms


@given(
    st.lists(
        st.one_of(
            st.builds(
                lambda n, line: Slot("segment", n, line), st.integers(1, 10**6), st.integers(1, 50)
            ),
            st.builds(lambda n: Slot("pause", n), st.integers(0, 10**5)),
        ),
        max_size=30,
    ),
    st.sampled_from([16000, 22050, 24000, 44100, 48000]),
)
def test_placements_are_ordered_and_sum_up(slots, rate):
    placements, total = place(slots, rate, gap_ms=300, chunk_gap_ms=100, padding_ms=250)
    segs = [s for s in slots if s.kind == "segment"]
    assert len(placements) == len(segs)
    for p in placements:
        assert p.end - p.start == slots[p.index].samples
    for a, b in zip(placements, placements[1:]):
        assert b.start >= a.end
    pauses = sum(s.samples for s in slots if s.kind == "pause")
    gaps = sum(b.start - a.end for a, b in zip(placements, placements[1:]))
    lead = placements[0].start if placements else 0
    tail = total - (placements[-1].end if placements else 0)
    assert lead + sum(s.samples for s in segs) + gaps + tail == total
    assert total >= sum(s.samples for s in segs) + pauses


def test_pause_replaces_gap_and_chunks_use_chunk_gap():
    slots = [
        Slot("segment", 10, 1, 0),
        Slot("segment", 10, 1, 1),
        Slot("segment", 10, 2, 0),
        Slot("pause", 7),
        Slot("segment", 10, 3, 0),
    ]
    placements, total = place(slots, 1000, gap_ms=5, chunk_gap_ms=2, padding_ms=0)
    assert [(p.start, p.end) for p in placements] == [(0, 10), (12, 22), (27, 37), (44, 54)]
    assert total == 54


@given(st.integers(0, 10**9), st.sampled_from([22050, 24000, 48000]))
def test_ms_round_trip_within_one_ms(samples, rate):
    ms = samples_to_ms(samples, rate)
    assert abs(ms - samples * 1000 / rate) <= 0.5
    assert abs(ms_to_samples(ms, rate) - samples) <= rate / 1000 / 2 + 1


def test_srt_format_parses_back():
    import pysrt

    text = format_srt([(0, 24000, "Hello."), (36000, 50000, "Two\nlines")], 24000)
    subs = pysrt.from_string(text)
    assert [s.text for s in subs] == ["Hello.", "Two\nlines"]
    assert subs[1].start.ordinal == 1500 and subs[1].end.ordinal == 2083
