"""Script language: parsing rules and invariants (property tests)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ttsbuild.core.errors import ScriptError
from ttsbuild.core.text import chunk_text, normalize_text
from ttsbuild.sources.script import Pause, Utterance, parse_script


def test_example_line():
    items = parse_script("[Alice] Hello. [pause:0.5s] [de:Bob] Guten Tag.")
    assert items == (
        Utterance(1, "alice", None, (), "Hello."),
        Pause(1, 500.0),
        Utterance(1, "bob", "de", (), "Guten Tag."),
    )


def test_speaker_persists_until_next_tag_and_narrator_by_default():
    items = parse_script("Opening.\n[ALICE] One.\nTwo.\n# comment [Bob]\n[Narrator] Three.")
    assert [(i.speaker, i.text) for i in items] == [
        ("narrator", "Opening."),
        ("alice", "One."),
        ("alice", "Two."),
        ("narrator", "Three."),
    ]


def test_language_only_tag_keeps_speaker_and_params():
    items = parse_script("[Bob|speed:0.9] Hi. [fr:] Salut.")
    assert items[1] == Utterance(1, "bob", "fr", (("speed", 0.9),), "Salut.")


def test_params_sorted_and_pause_units():
    (utt,) = parse_script("[Alice|speed:0.9|seed:42] x")
    assert utt.params == (("seed", 42.0), ("speed", 0.9))
    assert parse_script("[pause:300ms]") == (Pause(1, 300.0),)
    assert parse_script("[pause:1.5s]") == (Pause(1, 1500.0),)


@pytest.mark.parametrize(
    "source,message",
    [
        ("[Alice", "unclosed tag"),
        ("a ] b", "stray ']'"),
        ("[pause:2]", "bad pause length"),
        ("[Alice|speed]", "bad parameter"),
        ("[Alice|speed:1|speed:2] x", "given twice"),
        ("[germany:Bob] x", "not a language code"),
        ("[]", "bad tag"),
        ("[a [b] c]", "unclosed tag"),
    ],
)
def test_malformed_tags(source, message):
    with pytest.raises(ScriptError) as err:
        parse_script(source, "s.txt")
    assert str(err.value).startswith("s.txt:1: ")
    assert message in str(err.value)


def test_error_names_the_line():
    with pytest.raises(ScriptError, match=r"^ep\.txt:3: unclosed tag"):
        parse_script("ok\n\n[Bob oops\n", "ep.txt")


# Control characters are rejected on purpose (see test_errors); they are not "safe" text.
safe_text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cs"),
        blacklist_characters="[]#\u2028\u2029",
    ),
    max_size=80,
)


@given(st.lists(st.tuples(st.sampled_from(["alice", "bob", "narrator"]), safe_text), max_size=8))
def test_round_trip_of_tagged_lines(lines):
    source = "\n".join(f"[{who}] {text}" for who, text in lines)
    items = parse_script(source)
    expected = [
        (who, normalize_text(text))
        for who, text in lines
        if any(c.isalnum() for c in normalize_text(text))
    ]
    assert [(i.speaker, i.text) for i in items] == expected


@given(safe_text)
def test_parse_never_crashes_on_untagged_text(text):
    items = parse_script(text)
    assert all(isinstance(i, Utterance) and i.speaker == "narrator" for i in items)


@given(
    st.lists(
        st.tuples(
            st.text(alphabet="abcdefghijklmnop", min_size=1, max_size=30),
            st.sampled_from(["", ".", "!", "?", ","]),
        ),
        min_size=1,
        max_size=60,
    ),
    st.integers(min_value=20, max_value=200),
)
def test_chunking_preserves_text_and_respects_limit(pieces, limit):
    text = " ".join(w + p for w, p in pieces)
    chunks = chunk_text(text, limit)
    assert all(0 < len(c) <= limit for c in chunks)
    # Nothing is lost or reordered; a word longer than the limit is the only thing split.
    assert "".join(chunks).replace(" ", "") == text.replace(" ", "")
    if all(len(w + p) <= limit for w, p in pieces):
        assert " ".join(chunks) == normalize_text(text)


def test_chunking_prefers_sentence_boundaries():
    text = "First sentence here. Second one follows. Third is last."
    assert chunk_text(text, 45) == ["First sentence here. Second one follows.", "Third is last."]
