"""Plays: both label shapes, wrapped speeches, stage directions, labels that are not labels."""

from __future__ import annotations

import pytest

from ttsbuild.core.errors import SourceError
from ttsbuild.sources.common import default_options
from ttsbuild.sources.play import parse_play
from ttsbuild.sources.script import Pause

# The opening of Oscar Wilde's "The Importance of Being Earnest" as Project Gutenberg (eBook
# #844, public domain) prints it: inline "Name.  Speech", bracketed directions, wrapped lines.
EARNEST = """\
FIRST ACT


SCENE

Morning-room in Algernon's flat in Half-Moon Street.  The room is
luxuriously and artistically furnished.  The sound of a piano is heard in
the adjoining room.

[Lane is arranging afternoon tea on the table, and after the music has
ceased, Algernon enters.]

Algernon.  Did you hear what I was playing, Lane?

Lane.  I didn't think it polite to listen, sir.

Algernon.  I'm sorry for that, for your sake.  I don't play
accurately--any one can play accurately--but I play with wonderful
expression.  As far as the piano is concerned, sentiment is my forte.  I
keep science for Life.

Lane.  Yes, sir.

Algernon.  And, speaking of the science of Life, have you got the
cucumber sandwiches cut for Lady Bracknell?

Lane.  Yes, sir.  [Hands them on a salver.]

Algernon.  [Inspects them, takes two, and sits down on the sofa.]  Oh!
. . . by the way, Lane, I see from your book that on Thursday night, when
Lord Shoreman and Mr. Worthing were dining with me, eight bottles of
champagne are entered as having been consumed.

Lane.  Yes, sir; eight bottles and a pint.
"""


def said(text: str, **options) -> list[tuple[str, str]]:
    items = parse_play(text, "play.txt", default_options(**options))
    return [(u.speaker, u.text) for u in items if not isinstance(u, Pause)]


def test_inline_labels_wrapped_speeches_and_directions():
    out = said(EARNEST)
    assert [s for s, _ in out] == ["narrator"] + ["algernon", "lane"] * 4
    assert out[0] == (
        "narrator",
        (
            "Morning-room in Algernon's flat in Half-Moon Street. The room is luxuriously and "
            "artistically furnished. The sound of a piano is heard in the adjoining room."
        ),
    )  # a paragraph before any speech is action; "FIRST ACT" and "SCENE" are headings
    assert out[3][1].endswith("sentiment is my forte. I keep science for Life.")
    assert out[6] == ("lane", "Yes, sir.")  # "[Hands them on a salver.]" is not spoken
    assert out[7][1].startswith("Oh! . . . by the way, Lane,")


def test_stage_directions_narrated_when_asked():
    out = said(EARNEST, speak={"stage_directions": "narrate", "action": "skip"})
    assert out[0] == (
        "narrator",
        (
            "Lane is arranging afternoon tea on the table, and after the music has ceased, "
            "Algernon enters."
        ),
    )
    i = out.index(("narrator", "Inspects them, takes two, and sits down on the sofa."))
    assert out[i - 2 : i] == [("lane", "Yes, sir."), ("narrator", "Hands them on a salver.")]
    assert out[i + 1][0] == "algernon" and out[i + 1][1].startswith("Oh!")


def test_own_line_labels_and_empty_speeches():
    text = "First Citizen:\nBefore we proceed.\n\nTITUS:\n\nCOMINIUS:\nNoble Marcius!\n\nMENENIUS.\nO, true-bred!\n"
    assert said(text) == [
        ("first citizen", "Before we proceed."),
        ("cominius", "Noble Marcius!"),
        ("menenius", "O, true-bred!"),
    ]


def test_speech_lines_that_look_like_labels_stay_speech():
    text = (
        "HAMLET:\nMark me:\nRome:\nAnd thus he spoke:\n\nFarewell.\n\n"
        "Yes.  I think so.\n\nO, my lord:\nnothing.\n"
    )
    assert said(text) == [
        ("hamlet", "Mark me: Rome: And thus he spoke:"),
        ("hamlet", "Farewell."),  # a verse paragraph continues the speaker
        ("hamlet", "Yes. I think so."),
        ("hamlet", "O, my lord: nothing."),
    ]


def test_consecutive_inline_labels_without_blank_lines():
    assert said("HAMLET: To be.\nHORATIO: Or not.\n") == [
        ("hamlet", "To be."),
        ("horatio", "Or not."),
    ]


def test_known_names_count_as_labels_anywhere():
    text = "Romeo.  Hi.\nJuliet.  Hello.\n"
    assert said(text) == [("romeo", "Hi. Juliet. Hello.")]  # Juliet is not known yet
    options = default_options(known_names=frozenset({"juliet"}))
    assert [(u.speaker, u.text) for u in parse_play(text, "p", options)] == [
        ("romeo", "Hi."),
        ("juliet", "Hello."),
    ]


def test_italic_directions_and_entrances():
    text = "_Enter Lane._\n\nExit Bob.\n\nLANE: I am _very_ sorry. (aside) Not really.\n"
    # a direction inside a speech splits it into two parts of the speech (issue 26)
    assert said(text) == [("lane", "I am very sorry."), ("lane", "Not really.")]
    assert said(text, speak={"stage_directions": "narrate"})[:2] == [
        ("narrator", "Enter Lane."),
        ("narrator", "Exit Bob."),
    ]


def test_act_and_scene_headings():
    text = "ACT I.\n\nSCENE II. A room.\n\nBOB: Hi.\n"
    assert said(text) == [("bob", "Hi.")]
    assert said(text, speak={"scene_headings": "narrate"})[:2] == [
        ("narrator", "ACT I."),
        ("narrator", "SCENE II. A room."),
    ]


def test_custom_label_pattern():
    text = "<Bob> Hi there.\n<Al> Hello.\n"
    out = parse_play(text, "p", default_options(label_pattern=r"<(?P<name>\w+)>\s*(?P<text>.*)"))
    assert [(u.speaker, u.text) for u in out] == [("bob", "Hi there."), ("al", "Hello.")]


def test_bad_label_pattern():
    with pytest.raises(SourceError, match="needs a group named 'name'"):
        parse_play("x", "p", default_options(label_pattern=r"(\w+):"))


def test_a_pause_in_a_speech_is_a_pause_and_an_aside_gets_its_params():
    text = "LANE: I am sorry. [Pause.] Very sorry. (aside) Not really.\n"
    items = parse_play(text, "p.txt", default_options(parentheticals={"aside": {"speed": 1.1}}))
    assert [i.milliseconds if isinstance(i, Pause) else (i.text, i.params) for i in items] == [
        ("I am sorry.", ()),
        1200.0,
        ("Very sorry.", ()),
        ("Not really.", (("speed", 1.1),)),
    ]
    # narrated directions are read, but a pause is still a pause, never the word "pause"
    narrated = parse_play(text, "p.txt", default_options(speak={"stage_directions": "narrate"}))
    assert [i.milliseconds if isinstance(i, Pause) else i.text for i in narrated] == [
        "I am sorry.",
        1200.0,
        "Very sorry.",
        "aside",
        "Not really.",
    ]


def test_acts_and_scenes_are_breaks():
    items = parse_play(EARNEST, "p.txt", default_options())
    breaks = [(i.kind, i.line, i.milliseconds) for i in items if isinstance(i, Pause)]
    assert breaks[:2] == [("acts", 1, 3000.0), ("scene_headings", 4, 1500.0)]
