"""Game dialogue sources (issue 23, finding 5): Ren'Py's dialogue export recognized by its
header, sniffed delimiters named in errors, the Yarn Spinner reader (a reference reading of
real ``.yarn`` files), and per-format markup and interpolation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ttsbuild.core.errors import SourceError
from ttsbuild.sources import read_items, sniff_format, source_format
from ttsbuild.sources.common import default_options
from ttsbuild.sources.markup import strip_renpy, strip_yarn
from ttsbuild.sources.script import Unspoken, Utterance
from ttsbuild.sources.table import parse_table
from ttsbuild.sources.yarn import parse_yarn

DATA = Path(__file__).parent / "data" / "sources"
RENPY = DATA / "mysterious_messenger_dialogue.tab"
VARIABLES = {"name": "Sam", "guest_name": "Guest", "guest_dialogue": "Hi.", "what": "A note."}


def spoken(items):
    return [(u.uid, u.speaker, u.text) for u in items if isinstance(u, Utterance)]


# ---------------------------------------------------------------- Ren'Py


def test_renpy_export_reads_every_row_with_its_identifier():
    items = read_items(RENPY, None, default_options(variables=VARIABLES))
    assert len(items) == 137  # every row of the export: one item per identifier
    assert len({i.uid for i in items}) == 137
    lines = spoken(items)
    assert lines[3] == ("start_c2ba5583", "u", "Oh! You picked up; I'm so relieved.")
    # repeated lines keep their own ids (Ren'Py's _1 suffix)
    okay = [uid for uid, _, text in lines if text == "Okay. I'll let someone else explain this."]
    assert okay == ["learn_b0ebb0c4", "learn_b0ebb0c4_1"]
    # interpolation from variables:, escaped quotes undone, quoted character names
    assert ("example_chat_edd773ad", "u", "Hello, Sam ^^") in lines
    assert lines[0] == ("guest_party_showcase_20ad63f5", "guest", "Hi.")
    said = dict((uid, text) for uid, _, text in lines)
    assert said["start_204cbad6"].startswith('As you can see, this is a sort of "introductory"')
    missing = [(u.uid, u.reason) for u in items if isinstance(u, Unspoken)]
    assert ("banners_0fa1ccb3", "only punctuation: nothing to speak") in missing
    assert ("start_11fdb519_1", "no text") in missing  # an empty `extend`
    assert len(missing) == 8


def test_renpy_export_is_recognized_by_its_header_whatever_its_name(tmp_path):
    for name in ("dialogue.txt", "dialogue.csv", "export"):
        copy = tmp_path / name
        shutil.copy(RENPY, copy)
        assert sniff_format(copy, source_format(name)) == "table"
        items = read_items(copy, None, default_options(variables=VARIABLES))
        assert len(items) == 137


def test_renpy_interpolation_without_a_value_is_refused_with_file_and_line():
    with pytest.raises(SourceError) as err:
        read_items(RENPY, None, default_options(variables={"guest_name": "G", "what": "w"}))
    assert str(err.value).startswith(
        f"{RENPY}:2: 2 interpolations are filled in by the game at run time and have no value "
        "here: [guest_dialogue] (line 2), [name] (line 43); add 'guest_dialogue', 'name'"
    )


def test_renpy_text_tags_and_extend():
    table = (
        "Identifier\tCharacter\tDialogue\tFilename\tLine Number\tRen'Py Script\n"
        "a_1\te\t{color=#DCC600}Hello{/color}, {b}[player_name]{/b}!{w} {{not a tag}\tx.rpy\t3\t\n"
        'a_2\textend\t" And {i}more{/i}."\tx.rpy\t4\t\n'
        'a_3\t"Narrator Voice"\t[[literal]\tx.rpy\t5\t\n'
    )
    items = parse_table(table, "d.tab", default_options(variables={"player_name": "Ann"}))
    assert spoken(items) == [
        ("a_1", "e", "Hello, Ann! {not a tag}"),
        ("a_2", "e", '" And more."'),
        ("a_3", "narrator voice", "[literal]"),
    ]


def test_markup_helpers():
    assert strip_renpy(r"Say \"hi\"{p}\nnow", {}, "d.tab", 1) == 'Say "hi" now'
    assert strip_yarn("[wave=2]Hey[/wave] {$name}[pause=500 /]!", {"name": "Bo"}, "a", 1) == (
        "Hey Bo!"
    )
    with pytest.raises(SourceError, match=r"a.yarn:7: \{\$gold\} is filled in"):
        strip_yarn("You have {$gold} coins.", {}, "a.yarn", 7)


# ---------------------------------------------------------------- delimiters


def test_delimiter_is_sniffed_and_named_in_errors():
    rows = parse_table("id;character;text\nq1;Ann;Hello, you.\n", "t.csv", default_options())
    assert spoken(rows) == [("q1", "ann", "Hello, you.")]
    tsv_in_csv = parse_table("id\tcharacter\ttext\nq1\tAnn\tHi, all.\n", "t.csv", default_options())
    assert spoken(tsv_in_csv) == [("q1", "ann", "Hi, all.")]
    with pytest.raises(SourceError, match="the header, split at ';', has 'id', 'who'"):
        parse_table("id;who\nq1;Ann\n", "t.csv", default_options())


# ---------------------------------------------------------------- Yarn


VOICE_OVER = [
    ("line:tutorial-tom-01", "tom", "Uh.. hello?", "tentative"),
    ("line:tutorial-tom-02", "tom", "Is anyone there?", ""),
    ("line:tutorial-anne-01", "anne", "Hi there!", "chirpy"),
    ("line:tutorial-tom-03", "tom", "Who are you?", 'surprised, emphasis on "you"'),
    ("line:tutorial-tom-04", "tom", "And where are you?", 'emphasis on "where"'),
    ("line:tutorial-anne-02", "anne", "I'm Anne! I'm right here!", "trying to be helpful"),
    ("line:tutorial-tom-05", "tom", "Where am I?", "a little panicked"),
    (
        "line:tutorial-anne-03",
        "anne",
        "You're floating in a featureless void!",
        "as though this is a perfectly reasonable explanation",
    ),
    ("line:tutorial-tom-06", "tom", "I can see that..", "dubious"),
    ("line:tutorial-tom-07", "tom", "How did I get here?", ""),
    (
        "line:tutorial-anne-04",
        "anne",
        "Oh, a writer put you here. This is a test conversation for Yarn Spinner!",
        "",
    ),
    ("line:tutorial-tom-08", "tom", "What's Yarn Spinner?", ""),
    ("line:tutorial-anne-05", "anne", "Don't worry about it!", "breezy"),
    ("line:tutorial-tom-09", "tom", "This is weird, Anne.", ""),
    ("line:tutorial-tom-10", "tom", "This is really confusing.", ""),
    (
        "line:tutorial-anne-06",
        "anne",
        "That's ok! This will all go away in a moment.",
        "reassuring",
    ),
    ("line:tutorial-tom-11", "tom", "What?!", "surprised, confused"),
]


def test_yarn_reference_reading_voice_over_sample():
    """Yarn Spinner's VoiceOver sample: every line in order by its speaker, options
    included, commands and comments never spoken, the writers' notes kept."""
    items = read_items(DATA / "VoiceOver.yarn", None, default_options())
    assert [(u.uid, u.speaker, u.text, u.note) for u in items] == VOICE_OVER


def test_yarn_sally_options_conditions_and_branches():
    items = read_items(DATA / "Sally.yarn", None, default_options())
    got = spoken(items)
    assert len(got) == 18
    assert got[2] == ("line:794945", "player", "Hey, Sally.")
    # options: the <<if>> condition is dropped, the #line tag is the id, no speaker: narrator
    assert ("line:5d7a7c", "narrator", "Anything exciting happen on your watch?") in got
    assert ("line:8c3f98", "sally", "Not really.") in got
    assert not any("<<" in t or "#" in t or "//" in t for _, _, t in got)


def test_yarn_markup_is_never_spoken():
    got = spoken(read_items(DATA / "BuiltinReplacements.yarn", None, default_options()))
    assert len(got) == 14
    assert got[3][1:] == ("anika", "It lets you do things like make words bold")
    assert got[6][2] == "or wombocombo them together even."
    assert not any("[" in t or "]" in t for _, _, t in got)


@pytest.mark.parametrize(
    "text, message, line",
    [
        ("title: A\n---\nTom: Hi.\n", "node 'A' is never closed", 1),
        ("tags: x\n---\nTom: Hi.\n===\n", "the node has no 'title:' header", 2),
        ("Tom: Hi.\n", "this node header is never followed by '---'", 1),
        ("title: A\n---\n===\nHello there\n", "expected a node header", 4),
        ("title: A\n---\nTom: You have {$gold} gold.\n===\n", "{$gold} is filled in", 3),
        # attack-c: malformed control flow and markup are refused, never spoken raw
        ("title: A\n---\n<<if $x>>\nTom: Hi.\n===\n", "<<if>> is never closed", 3),
        ("title: A\n---\nTom: Hi.\n<<endif>>\n===\n", "<<endif>> without an <<if>>", 4),
        ("title: A\n---\n<<else>>\nTom: Hi.\n===\n", "<<else>> without an <<if>>", 3),
        ("title: A\n---\nTom: Hi <<wait 2 #line:a\n===\n", "'<<' is never closed", 3),
        ("title: A\n---\n<<wait 2\n===\n", "'<<' is never closed", 3),
        ("title: A\n---\nTom: Hi [b there\n===\n", "unclosed markup", 3),
        ("title: A\n---\nTom: Hi {$name\n===\n", "unclosed markup", 3),
    ],
)
def test_malformed_yarn(text, message, line):
    with pytest.raises(SourceError) as err:
        parse_yarn(text, "a.yarn", default_options())
    assert message in str(err.value)
    assert str(err.value).startswith(f"a.yarn:{line}:")


def test_yarn_nested_and_balanced_control_flow_still_reads():
    text = (
        "title: A\n---\n<<if $a>>\n<<if $b>>\nTom: One.\n<<elseif $c>>\nTom: Two.\n"
        "<<endif>>\n<<else>>\nTom: [b][i]Three[/i][/b] \\[ok\n<<endif>>\n-> Four <<if $d>>\n===\n"
    )
    got = [u.text for u in parse_yarn(text, "a.yarn", default_options())]
    assert got == ["One.", "Two.", "Three [ok", "Four"]


@pytest.mark.parametrize("text", ["Hello {b world", "Hello [name", "Hi {/i"])
def test_renpy_unclosed_markup_is_refused_never_spoken_raw(text):
    with pytest.raises(SourceError) as err:
        strip_renpy(text, {"name": "Sam"}, "d.tab", 7)
    assert str(err.value).startswith("d.tab:7:")
    assert "unclosed markup" in str(err.value)


def test_yarn_interpolation_from_variables_and_unspeakable_lines():
    text = "title: A\n---\nTom: Hi {$name}. #line:a1\nTom: ... #line:a2\n<<jump B>>\n===\n"
    items = parse_yarn(text, "a.yarn", default_options(variables={"name": "Sam"}))
    assert spoken(items) == [("line:a1", "tom", "Hi Sam.")]
    assert [(u.uid, u.reason) for u in items if isinstance(u, Unspoken)] == [
        ("line:a2", "only punctuation: nothing to speak")
    ]


def test_every_interpolation_without_a_value_is_named_in_one_error():
    """A user fixing variables: adds every name in one go (attack-c: the real Mysterious
    Messenger export needed four rounds, one name each)."""
    with pytest.raises(SourceError) as err:
        read_items(DATA / "mysterious_messenger_dialogue.tab", None, default_options())
    msg = str(err.value)
    assert msg.startswith(f"{DATA / 'mysterious_messenger_dialogue.tab'}:2: 4 interpolations")
    for name in ("'guest_dialogue'", "'guest_name'", "'what'", "'name'"):
        assert name in msg
    assert "(line 3)" in msg and msg.count("\n") == 0
    yarn = "title: A\n---\nTom: Hi {$a}.\nTom: Hi {$b}.\n===\n"
    with pytest.raises(SourceError) as err:
        parse_yarn(yarn, "a.yarn", default_options(variables={"c": "x"}))
    assert str(err.value).startswith("a.yarn:3: 2 interpolations")
    assert "add 'a', 'b' under 'variables:'" in str(err.value) and "(known: c)" in str(err.value)


def test_renpy_row_with_a_huge_field_names_the_row_without_a_quote_hint():
    """Ren'Py's export is unquoted: a 2 MB field is not 'a quote that is never closed'."""
    text = "Identifier\tCharacter\tDialogue\tFilename\tLine Number\na_1\te\t" + "x" * 200_000
    with pytest.raises(SourceError) as err:
        parse_table(text + "\tg.rpy\t1\n", "d.tab", default_options())
    msg = str(err.value)
    assert msg.startswith("d.tab:2: row starting here is malformed: field larger than")
    assert "quote" not in msg and "line end is missing" in msg
