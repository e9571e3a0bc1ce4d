"""Script language: parsing rules and invariants (property tests)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ttsbuild.core.errors import ScriptError
from ttsbuild.core.text import chunk_text, normalize_text
from ttsbuild.sources.script import Pause, Utterance, parse_script, parse_script_notes


def test_example_line():
    items = parse_script("[Alice] Hello. [pause:0.5s] [de:Bob] Guten Tag.")
    assert items == (
        Utterance(1, "alice", None, (), "Hello."),
        Pause(1, 500.0),
        Utterance(1, "bob", "de", (), "Guten Tag."),
    )


def test_a_tag_applies_to_its_own_line_and_untagged_lines_are_the_narrators():
    items = parse_script("Opening.\n[ALICE] One.\nTwo.\n# comment [Bob]\n[Narrator] Three.")
    assert [(i.speaker, i.text) for i in items] == [
        ("narrator", "Opening."),
        ("alice", "One."),
        ("narrator", "Two."),
        ("narrator", "Three."),
    ]


def test_tts_audio_suite_example_last_line_is_the_narrators():
    # The character switching guide of TTS Audio Suite, the system this project follows.
    source = (
        "Hello! This is the narrator speaking.\n"
        "[Alice] Hi there! I'm Alice, nice to meet you.\n"
        "[Bob] And I'm Bob! Great to meet you both.\n"
        "Back to the narrator for the conclusion.\n"
    )
    assert [i.speaker for i in parse_script(source) if isinstance(i, Utterance)] == [
        "narrator",
        "alice",
        "bob",
        "narrator",
    ]


def test_params_and_seed_do_not_leak_to_the_next_line():
    items = parse_script("[Bob|seed:7|speed:0.85] Hello?\nIs anyone there?\n[Bob] Again.")
    assert items == (
        Utterance(1, "bob", None, (("seed", 7.0), ("speed", 0.85)), "Hello?"),
        Utterance(2, "narrator", None, (), "Is anyone there?"),
        Utterance(3, "bob", None, (), "Again."),
    )


def test_language_tags_do_not_leak_to_the_next_line():
    items = parse_script("[de:Bob] Guten Tag.\n[de:] Weiter so.\nAnd in English.\n[Bob] Hi.")
    assert [(i.speaker, i.language) for i in items if isinstance(i, Utterance)] == [
        ("bob", "de"),
        ("narrator", "de"),
        ("narrator", None),
        ("bob", None),
    ]


def test_episode_default_speaker_speaks_untagged_lines():
    items = parse_script("Hi.\n[Alice] Yes.\nBye.", speaker="bob")
    assert [i.speaker for i in items if isinstance(i, Utterance)] == ["bob", "alice", "bob"]


def test_block_form_tag_alone_then_indented_lines():
    source = (
        "[Bob|speed:0.9]\n"
        "    First line of the block.\n"
        "\n"
        "\tSecond line. [de:] Zweiter Satz.\n"
        "    [Alice] Alice interrupts, this line only.\n"
        "    Bob again.\n"
        "Narrator, not indented: the block is over.\n"
        "  Indented but no block: the narrator.\n"
        "[de:]\n"
        "  Der Erzähler auf Deutsch.\n"
    )
    speed = (("speed", 0.9),)
    assert parse_script(source) == (
        Utterance(2, "bob", None, speed, "First line of the block."),
        Utterance(4, "bob", None, speed, "Second line."),
        Utterance(4, "bob", "de", speed, "Zweiter Satz."),
        Utterance(5, "alice", None, (), "Alice interrupts, this line only."),
        Utterance(6, "bob", None, speed, "Bob again."),
        Utterance(7, "narrator", None, (), "Narrator, not indented: the block is over."),
        Utterance(8, "narrator", None, (), "Indented but no block: the narrator."),
        Utterance(10, "narrator", "de", (), "Der Erzähler auf Deutsch."),
    )
    assert parse_script_notes(source).notes == ()


def test_blocks_off_for_subtitles_a_cue_is_a_line():
    items = parse_script("[Bob]\n  Not Bob's.", blocks=False)
    assert items == (Utterance(2, "narrator", None, (), "Not Bob's."),)


def test_notes_for_the_old_habit():
    source = (
        "[Oskar] I'll come.\n"  # 1
        "Said Oskar, leaving.\n"  # 2: the old habit
        "[Oskar] Again.\n"  # 3
        "\n"
        "After a blank line: no note.\n"  # 5
        "[Narrator|speed:0.9] Slow.\n"  # 6
        "Not slow.\n"  # 7: loses the parameters
        "[Alice]\n"  # 8: alone, nothing indented after it
        "Not Alice's.\n"  # 9
    )
    notes = parse_script_notes(source, "ep.txt").notes
    assert [n.line for n in notes] == [2, 7, 8]
    assert notes[0].message.startswith(
        "this untagged line is spoken by the narrator as written, without the tag [Oskar] "
        "of the line before: a tag applies to its own line only"
    )
    assert "[Narrator|speed:0.9]" in notes[1].message
    assert "[Alice] stands alone on its line" in notes[2].message


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


def test_planner_uses_the_episodes_speaker_and_rejects_an_unknown_one(tmp_path, monkeypatch):
    from ttsbuild.config import project_from_config
    from ttsbuild.core.errors import ConfigError
    from ttsbuild.planning.planner import Planner

    monkeypatch.setenv("TTSBUILD_ENGINE_PLUGINS", "fake=tests.fake_engine:FakeEngine")
    (tmp_path / "ep.txt").write_text("Dear diary.\n[Narrator] Said the narrator.\n")
    config = {
        "engine": "fake",
        "characters": {"narrator": {}, "alice": {}},
        "aliases": {"al": "alice"},
        "episodes": {"ep": {"source": "ep.txt", "speaker": "Al"}},
    }
    plan = Planner(project_from_config(config, tmp_path)).plan_episode("ep")
    assert [s.speaker for s in plan.segments()] == ["alice", "narrator"]
    config["episodes"] = {"ep": {"source": "ep.txt", "speaker": "carol"}}
    with pytest.raises(ConfigError, match="episode 'ep': speaker 'carol' is not a character"):
        Planner(project_from_config(config, tmp_path)).plan_episode("ep")
