"""The episode's SRT (assembly/srt_out.py, issue 26): cues wrapped to 42 characters and 2
lines, longer segments split at sentences and clauses and timed by their share of the speech,
speaker names where the speaker changes."""

from __future__ import annotations

import textwrap

from hypothesis import given
from hypothesis import strategies as st

from ttsbuild.assembly.srt_out import _fits, split_cue, subtitle_cues, wrap_blocks

# Cognito's speech from "Brick & Steel" (tests/data/sources), lengthened to 161 characters:
# the episode's SRT had such a segment as one unwrapped cue
LONG = (
    "Everyone's coming after you mate! Scorpio, The Boy Band, Sparrow, Point Blank Sniper... "
    "and every one of them wants you dead, Brick, you and your partner, tonight."
)

words = st.text(alphabet="abcdefghij", min_size=1, max_size=12)
punct = st.sampled_from(["", "", "", ",", ".", "!", "?", ";"])
texts = st.lists(st.tuples(words, punct), min_size=1, max_size=60).map(
    lambda ws: " ".join(w + p for w, p in ws)
)


@given(texts, st.integers(20, 60), st.integers(1, 3))
def test_every_cue_fits_and_no_word_is_lost(text, width, lines):
    blocks = wrap_blocks(text, width, lines)
    for block in blocks:
        rows = block.split("\n")
        assert len(rows) <= lines and all(len(r) <= width for r in rows), block
    assert " ".join(" ".join(blocks).split()) == " ".join(text.split())


@given(
    st.text(alphabet=st.sampled_from("ab -\t\n\r\x0b\u00a0,."), max_size=80),
    st.integers(1, 50),
    st.integers(1, 3),
)
def test_fits_answers_as_textwrap_does(text, width, lines):
    """The one-line shortcut (and the memo) never answer otherwise than wrapping the text."""
    assert _fits(text, width, lines) == (
        len(textwrap.wrap(text, width, break_long_words=False)) <= lines
    )


@given(texts, st.integers(0, 10_000), st.integers(1, 100_000))
def test_split_cues_are_contiguous_and_cover_the_span(text, start, length):
    parts = split_cue(start, start + length, text, 42, 2)
    assert parts[0][0] == start and parts[-1][1] == start + length
    assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
    assert all(s <= e for s, e, _ in parts)


def test_a_long_speech_becomes_cues_at_sentence_and_clause_boundaries():
    # (issue 26) 180-character unwrapped cues
    parts = split_cue(0, 24000 * 10, LONG)
    assert [t for _, _, t in parts] == [
        "Everyone's coming after you mate!",
        "Scorpio, The Boy Band, Sparrow, Point\nBlank Sniper...",
        "and every one of them wants you dead,\nBrick, you and your partner, tonight.",
    ]
    # timed by the speech: each cue's share of the span is its share of the characters
    shares = [(e - s) / (24000 * 10) for s, e, _ in parts]
    chars = [len(t.replace("\n", " ")) for _, _, t in parts]
    assert [round(x, 3) for x in shares] == [round(c / sum(chars), 3) for c in chars]


def test_speaker_names_where_the_speaker_changes():
    cues = [
        (0, 10, "Beer's ready!"),
        (20, 30, "Are they cold?"),
        (40, 50, "Good."),
        (60, 70, "A day."),
    ]
    out = subtitle_cues(cues, ["steel", "brick", "brick", "narrator"], 42, 2, True)
    assert [t for _, _, t in out] == [
        "STEEL: Beer's ready!",
        "BRICK: Are they cold?",
        "Good.",
        "A day.",
    ]
    assert [t for _, _, t in subtitle_cues(cues, ["steel"] * 4, 42, 2, False)] == [
        t for _, _, t in cues
    ]
