"""Fountain: the spec's edge cases, element by element (pure, fast)."""

from __future__ import annotations

import pytest

from ttsbuild.core.errors import SourceError
from ttsbuild.sources.common import default_options
from ttsbuild.sources.fountain import parse_fountain
from ttsbuild.sources.script import Pause, Utterance


def said(text: str, **options) -> list[tuple[str, str]]:
    return [
        (u.speaker, u.text)
        for u in parse_fountain(text, "x.fountain", default_options(**options))
        if isinstance(u, Utterance)
    ]


def parts(text: str, **options) -> list[tuple[str, str] | float]:
    """Utterances as (speaker, text), pauses as their milliseconds."""
    return [
        i.milliseconds if isinstance(i, Pause) else (i.speaker, i.text)
        for i in parse_fountain(text, "x.fountain", default_options(**options))
    ]


def test_title_page_is_never_spoken():
    text = "Title: _**BRICK**_\nCredit: Written by\nAuthor: Stu\nContact:\n\tSomewhere\n\nINT. A - DAY\n\nBOB\nHi.\n"
    assert said(text) == [("bob", "Hi.")]


def test_title_page_with_blank_lines_inside():
    text = "Title:\n\n_**SAMPLE**_\n\nCredit: By\nSource: \n\nSource by\n\nJD\nDraft date: 2018\n\nFADE IN:\n\nBOB\nHi.\n"
    assert said(text) == [("bob", "Hi.")]


def test_fade_in_first_is_not_a_title_page():
    assert said("FADE IN:\n\nA room.\n", speak={"transitions": "narrate"}, headings="literal") == [
        ("narrator", "FADE IN:"),
        ("narrator", "A room."),
    ]


def test_scene_headings_forced_and_numbered():
    text = "INT. HOUSE - DAY #1#\n\n.SNIPER SCOPE POV\n\n...and then\n\nEXT. ROAD\n\nCars.\n"
    assert said(text) == [("narrator", "...and then"), ("narrator", "Cars.")]
    assert said(text, speak={"scene_headings": "narrate"}, headings="literal")[:2] == [
        ("narrator", "INT. HOUSE - DAY"),
        ("narrator", "SNIPER SCOPE POV"),
    ]


def test_action_forced_and_multiline():
    text = "!SCANNING THE AISLES\n\nThe man looks.\nHe waits.\n"
    assert said(text) == [
        ("narrator", "SCANNING THE AISLES"),
        ("narrator", "The man looks. He waits."),
    ]
    assert said(text, speak={"action": "skip"}) == []


@pytest.mark.parametrize(
    "cue,speaker",
    [
        ("STEEL (V.O.)", "steel"),
        ("STEEL (O.S.)", "steel"),
        ("STEEL (CONT'D)", "steel"),
        ("MARY’S MOM (CONT’D)", "mary's mom"),
        ("HANS (on the radio) (V.O.)", "hans"),
        ("@McCLANE", "mcclane"),
        ("R2D2", "r2d2"),
        ("BRICK ^", "brick"),
    ],
)
def test_character_cues(cue, speaker):
    assert said(f"\n{cue}\nYes.\n") == [(speaker, "Yes.")]


def test_transition_without_blank_line_after_is_not_a_cue():
    assert said("\nCUT TO:\nA room.\n") == [("narrator", "CUT TO: A room.")]


def test_uppercase_line_without_dialogue_is_action():
    assert said("\nTHE END\n\n") == [("narrator", "THE END")]


def test_parentheticals_are_not_spoken_and_can_map_to_params():
    text = "\nSTEEL\n(whispering)\nQuiet.\n(normal)\nNow loud.\n"
    (quiet, loud) = parse_fountain(
        text, "x", default_options(parentheticals={"whispering": {"speed": 0.9}})
    )
    assert (quiet.text, quiet.params) == ("Quiet.", (("speed", 0.9),))
    assert (loud.text, loud.params) == ("Now loud.", ())


def test_a_parenthetical_splits_a_speech_into_parts():
    # (issue 26) both halves were one utterance: no gap, and the direction was lost
    text = "\nSTEEL\nQuiet.\n(she looks to her right)\nNow loud.\n"
    assert parts(text) == [("steel", "Quiet."), ("steel", "Now loud.")]


def test_direction_words_are_pauses_between_parts():
    text = "\nSTEEL\n(whispering)\nOne.\n(pause)\nTwo.\n(Beat.)\nThree.\n(long pause)\nFour.\n"
    items = parse_fountain(
        text, "x", default_options(parentheticals={"whispering": {"speed": 0.9}})
    )
    assert [i.milliseconds if isinstance(i, Pause) else i.text for i in items] == [
        "One.",
        1200.0,
        "Two.",
        800.0,
        "Three.",
        2500.0,
        "Four.",
    ]
    # a pause is not a change of delivery: the whisper goes on after it
    assert {i.params for i in items if isinstance(i, Utterance)} == {(("speed", 0.9),)}
    assert [i.line for i in items if isinstance(i, Pause)] == [5, 7, 9]


def test_direction_table_is_configurable():
    text = "\nSTEEL\nOne.\n(pause)\nTwo.\n(sighs)\nThree.\n"
    assert parts(text, direction={"sighs": 400, "pause": 0}) == [
        ("steel", "One."),
        0.0,
        ("steel", "Two."),
        400.0,
        ("steel", "Three."),
    ]
    assert parts(text, direction={}) == [("steel", "One."), ("steel", "Two."), ("steel", "Three.")]


def test_dual_dialogue_spoken_one_after_the_other():
    text = "\nBRICK\nScrew retirement.\n\nSTEEL ^\nScrew retirement.\n"
    assert said(text) == [("brick", "Screw retirement."), ("steel", "Screw retirement.")]


def test_lyrics_in_dialogue_and_alone():
    assert said("\nROSE\n~Willy Wonka!\n~Willy Wonka!\n") == [("rose", "Willy Wonka! Willy Wonka!")]
    assert said("\n~Over the rainbow\n") == [("narrator", "Over the rainbow")]
    assert said("\n~Over the rainbow\n", speak={"lyrics": "skip"}) == []


def test_centered_transitions_and_page_breaks():
    text = "\n> THE END <\n\n> BURN TO PINK.\n\nCUT TO:\n\n===\n\nDone.\n"
    assert said(text) == [("narrator", "Done.")]
    literal = {"speak": {"centered": "narrate", "transitions": "narrate"}, "headings": "literal"}
    assert said(text, **literal) == [
        ("narrator", "THE END"),
        ("narrator", "BURN TO PINK."),
        ("narrator", "CUT TO:"),
        ("narrator", "Done."),
    ]


def test_notes_inline_and_multiline_never_spoken():
    text = "\nBOB\nHello [[a note]] there.\n[[a note\nover two lines]]\nAnd more.\n\n[[alone]]\n"
    assert said(text) == [("bob", "Hello there. And more.")]


def test_boneyard_multiline_never_spoken_and_lines_kept():
    text = "/* cut:\n\nALICE\nGone.\n*/\n\nBOB\nStays.\n"
    (utt,) = parse_fountain(text, "x", default_options())
    assert (utt.speaker, utt.text, utt.line) == ("bob", "Stays.", 8)


def test_sections_and_synopses_never_spoken():
    assert said("# ACT ONE\n\n= Bob learns.\n\n## Part\n\nBOB\nHi.\n") == [("bob", "Hi.")]


def test_emphasis_removed():
    text = "\nBOB\n***Very*** **bold** *it* _under_ and 2\\*3.\n"
    assert said(text) == [("bob", "Very bold it under and 2*3.")]


def test_indented_cues_and_two_space_lines_continue_dialogue():
    text = "\n\t\t\tJACK\n\t\t(in Vietnamese)\n\tFirst.\n  \n\tSecond.\n"
    assert said(text) == [("jack", "First. Second.")]


def test_crlf_and_lines():
    items = parse_fountain("INT. A\r\n\r\nBOB\r\nHi.\r\n", "x", default_options())
    assert [(u.line, u.text) for u in items if isinstance(u, Utterance)] == [(4, "Hi.")]


@pytest.mark.parametrize(
    "text,message,line",
    [
        ("\nBOB\nHi.\n\n/* never closed\n\nALICE\nLost.\n", "boneyard '/*' is never closed", 5),
        ("\nBOB\nHi [[ note never closed\n", "note '[[' is never closed", 3),
    ],
)
def test_malformed(text, message, line):
    with pytest.raises(SourceError) as err:
        parse_fountain(text, "ep.fountain", default_options())
    assert message in str(err.value)
    assert err.value.line == line and err.value.path == "ep.fountain"


def test_scene_breaks_per_element_type():
    # (issue 26) a scene heading or transition got the same gap as any line
    text = (
        "# ACT ONE\n\nINT. HOUSE - DAY\n\nBOB\nHi.\n\nCUT TO:\n\n## The yard\n\n"
        "EXT. YARD - NIGHT\n\nBOB\nBye.\n"
    )
    items = parse_fountain(text, "x", default_options())
    assert [(i.kind, i.line, i.milliseconds) for i in items if isinstance(i, Pause)] == [
        ("acts", 1, 3000.0),
        ("scene_headings", 3, 1500.0),
        ("transitions", 8, 1000.0),
        ("sections", 10, 1000.0),
        ("scene_headings", 12, 1500.0),
    ]
    breaks = {"scene_headings": {"pause_ms": 2000}, "transitions": {"pause_ms": 0}}
    custom = parse_fountain(text, "x", default_options(breaks=breaks))
    assert [i.milliseconds for i in custom if isinstance(i, Pause) and i.kind] == [
        3000.0,
        2000.0,
        0.0,
        1000.0,
        2000.0,
    ]


def test_narrated_headings_are_read_by_the_rule_or_literally():
    text = "INT. RADIO STUDIO - NIGHT (CONT'D)\n\nA desk.\n\nSMASH CUT TO:\n\n.SNIPER SCOPE POV\n"
    speak = {"scene_headings": "narrate", "transitions": "narrate"}
    assert said(text, speak=speak) == [
        ("narrator", "Interior. Radio studio, night, continued."),
        ("narrator", "A desk."),
        ("narrator", "Smash cut to."),
        ("narrator", "Sniper scope point of view."),
    ]
    assert said(text, speak=speak, headings="literal")[0] == (
        "narrator",
        "INT. RADIO STUDIO - NIGHT (CONT'D)",
    )
    assert said(text) == [("narrator", "A desk.")]  # the default: headings are not read
