"""Final Draft (.fdx): paragraph types, text runs, dual dialogue, skipped blocks, safe XML."""

from __future__ import annotations

import pytest

from ttsbuild.core.errors import SourceError
from ttsbuild.sources.common import default_options
from ttsbuild.sources.fdx import parse_fdx
from ttsbuild.sources.script import Pause, Utterance


def fdx(*paragraphs: str, extra: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="no" ?>\n'
        '<FinalDraft DocumentType="Script" Template="No" Version="5">\n<Content>\n'
        + "\n".join(paragraphs)
        + "\n</Content>\n"
        + extra
        + "</FinalDraft>\n"
    )


def p(kind: str, *runs: str) -> str:
    return f'<Paragraph Type="{kind}">' + "".join(runs) + "</Paragraph>"


def said(doc: str, **options) -> list[tuple[str, str]]:
    items = parse_fdx(doc, "x.fdx", default_options(**options))
    return [(u.speaker, u.text) for u in items if isinstance(u, Utterance)]


def test_types_and_runs():
    doc = fdx(
        p("Scene Heading", "<Text>INT. HOUSE - DAY</Text>"),
        p(
            "Action",
            "<Text>Bob </Text>",
            '<Text Style="Bold+Underline">waits</Text>',
            "<Text>.</Text>",
        ),
        p("Character", "<Text>BOB (V.O.)</Text>"),
        p("Parenthetical", "<Text>(quietly)</Text>"),
        p("Dialogue", '<Text Style="Italic">Hello</Text><Text> there.</Text>'),
        p("Transition", "<Text>CUT TO:</Text>"),
        p("Shot", "<Text>CLOSE ON BOB</Text>"),
        p("General", "<Text>Later.</Text>"),
    )
    assert said(doc) == [
        ("narrator", "Bob waits."),
        ("bob", "Hello there."),
        ("narrator", "Later."),
    ]
    speak = {"scene_headings": "narrate", "transitions": "narrate"}
    breaks = [k for k in parse_fdx(doc, "x.fdx", default_options()) if isinstance(k, Pause)]
    assert [(k.kind, k.milliseconds) for k in breaks] == [
        ("scene_headings", 1500.0),
        ("transitions", 1000.0),
        ("scene_headings", 1500.0),  # a Shot is a scene heading
    ]
    assert said(doc, speak=speak, headings="literal") == [
        ("narrator", "INT. HOUSE - DAY"),
        ("narrator", "Bob waits."),
        ("bob", "Hello there."),
        ("narrator", "CUT TO:"),
        ("narrator", "CLOSE ON BOB"),
        ("narrator", "Later."),
    ]


def test_parenthetical_params():
    doc = fdx(
        p("Character", "<Text>ANN</Text>"),
        p("Parenthetical", "<Text>(Whispering)</Text>"),
        p("Dialogue", "<Text>Shh.</Text>"),
    )
    (utt,) = parse_fdx(doc, "x.fdx", default_options(parentheticals={"whispering": {"speed": 0.9}}))
    assert utt.params == (("speed", 0.9),)


def test_parenthetical_pause_splits_the_speech():
    doc = fdx(
        p("Character", "<Text>ANN</Text>"),
        p("Dialogue", "<Text>Wait.</Text>"),
        p("Parenthetical", "<Text>(beat)</Text>"),
        p("Dialogue", "<Text>Go.</Text>"),
    )
    first, pause, second = parse_fdx(doc, "x.fdx", default_options())
    assert isinstance(pause, Pause) and pause.milliseconds == 800.0
    assert isinstance(first, Utterance) and isinstance(second, Utterance)
    assert (first.speaker, first.text, second.speaker, second.text) == (
        "ann",
        "Wait.",
        "ann",
        "Go.",
    )


def test_dual_dialogue_in_order():
    doc = fdx(
        "<Paragraph><DualDialogue>"
        + p("Character", "<Text>BRICK</Text>")
        + p("Dialogue", "<Text>Left.</Text>")
        + p("Character", "<Text>STEEL</Text>")
        + p("Dialogue", "<Text>Right.</Text>")
        + "</DualDialogue></Paragraph>",
        p("Action", "<Text>After.</Text>"),
    )
    assert said(doc) == [("brick", "Left."), ("steel", "Right."), ("narrator", "After.")]


def test_settings_blocks_and_notes_are_skipped():
    extra = (
        "<TitlePage><Content>" + p("Action", "<Text>MY TITLE</Text>") + "</Content></TitlePage>"
        "<HeaderAndFooter><Header><Paragraph><Text>Page 1</Text></Paragraph></Header></HeaderAndFooter>"
        '<ElementSettings Type="Action"><FontSpec Style=""/></ElementSettings>'
        "<SmartType><Characters><Character>GHOST</Character></Characters></SmartType>"
    )
    doc = fdx(
        p(
            "Action",
            '<ScriptNote ID="2"><Paragraph><Text>A note.</Text></Paragraph></ScriptNote>',
            "<Text>Action.</Text>",
        ),
        extra=extra,
    )
    assert said(doc) == [("narrator", "Action.")]


def test_lines_are_kept():
    doc = fdx(p("Character", "<Text>BOB</Text>"), p("Dialogue", "<Text>Hi.</Text>"))
    (utt,) = parse_fdx(doc, "x.fdx", default_options())
    assert utt.line == 5


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<FinalDraft><Content><Paragraph Type="Action"><Text>&lol9;</Text></Paragraph></Content></FinalDraft>
"""


@pytest.mark.parametrize(
    "doc,message,line",
    [
        (BILLION_LAUGHS, "refused: the file declares XML entities", 3),
        (
            (
                b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><FinalDraft><Content>'
                b'<Paragraph Type="Action"><Text>&e;</Text></Paragraph></Content></FinalDraft>'
            ),
            "refused: the file declares XML entities",
            1,
        ),
        (fdx(p("Action", "<Text>x</Text")).encode(), "not well-formed XML", 4),
        (b"<html><body/></html>", "not a Final Draft file: the root element is <html>", 1),
        (
            fdx(p("Dialogue", "<Text>Who?</Text>")).encode(),
            "Dialogue paragraph without a Character",
            4,
        ),
        (b"", "not well-formed XML", 1),
    ],
)
def test_bad_fdx_is_one_located_error(doc, message, line):
    with pytest.raises(SourceError) as err:
        parse_fdx(doc, "ep.fdx", default_options())
    assert message in str(err.value)
    assert err.value.path == "ep.fdx" and err.value.line == line
    assert "\n" not in str(err.value)
