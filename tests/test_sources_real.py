"""Real files not written by this project (tests/data/sources/NOTICE.md): every speech is
spoken by its character, in order; nothing from title pages, notes or boneyard is spoken."""

from __future__ import annotations

from pathlib import Path

import pytest

from ttsbuild.sources import parse_source
from ttsbuild.sources.common import default_options
from ttsbuild.sources.script import Pause, Utterance

DATA = Path(__file__).parent / "data" / "sources"


def read(name: str, fmt: str, **options) -> list[Utterance]:
    parsed = parse_source((DATA / name).read_bytes(), fmt, name, default_options(**options))
    assert all(isinstance(i, Pause) or i.uid for i in parsed)
    items = [i for i in parsed if isinstance(i, Utterance)]
    assert len({i.uid for i in items}) == len(items)
    return items


def dialogue(items: list[Utterance]) -> list[tuple[str, str]]:
    return [(u.speaker, u.text) for u in items if u.speaker != "narrator"]


def everything(items: list[Utterance]) -> str:
    return " ".join(u.text for u in items)


def test_brick_and_steel_pauses_are_where_the_screenplay_says():
    parsed = parse_source(
        (DATA / "brick_and_steel.fountain").read_bytes(), "fountain", "b", default_options()
    )
    pauses = [(i.line, i.milliseconds) for i in parsed if isinstance(i, Pause) and not i.kind]
    assert pauses == [(75, 1200.0), (77, 1200.0)]  # STEEL's "(pause)" lines, nothing else
    i = next(k for k, item in enumerate(parsed) if isinstance(item, Pause) and not item.kind)
    before, pause, after = parsed[i - 1], parsed[i], parsed[i + 1]
    assert isinstance(before, Utterance) and isinstance(after, Utterance)
    assert (before.speaker, after.speaker) == ("steel", "steel")
    assert before.line < pause.line < after.line


def test_brick_and_steel_stu_maschwitz():
    items = read("brick_and_steel.fountain", "fountain")
    assert dialogue(items) == [
        ("steel", "Beer's ready!"),
        ("brick", "Are they cold?"),
        ("steel", "Does a bear crap in the woods?"),
        ("steel", "To retirement."),
        ("brick", "To retirement."),
        ("steel", "Screw retirement."),
        ("brick", "Screw retirement."),  # dual dialogue, after the left side
        ("jack", "Did you know Brick and Steel are retired?"),  # tab-indented, *emphasis*
        ("dan", "Then let's retire them. Permanently."),
        # (pause) twice: three parts of one speech (issue 26; they were one utterance)
        ("steel", "They're coming out of the woodwork!"),
        ("steel", "No, everybody we've put away!"),
        ("steel", "Point Blank Sniper?"),
        ("steel", "The man's a myth!"),
        ("steel", "Hello..."),
        ("cognito", "Woah woah woah, Brick and Steel!"),
        ("cognito", "What is it you want with me, DICK?"),
        ("steel", "Who's coming after us?"),
        (
            "cognito",
            "Everyone's coming after you mate! Scorpio, The Boy Band, Sparrow, Point Blank Sniper...",
        ),
        ("brick", "This is everybody we've ever put away."),
        ("steel", "So much for retirement!"),
        ("minion", "We found Brick and Steel!"),
        ("handsome man", "I want them dead. DEAD!"),
    ]
    text = everything(items)
    for unspoken in (
        "FULL RETIRED",
        "Stu Maschwitz",
        "Solvang",
        "KTM",
        "beer raised",
        "in Vietnamese, subtitled",
        "SNIPER SCOPE POV",
        "CUT TO",
        "BURN TO PINK",
        "THE END",
        "BRICK BRADDOCK <",
        "EXT. ",
        "INT. ",
        "*",
        "_",
    ):
        assert unspoken not in text, unspoken
    assert items[0].text.startswith("A gorgeous day.") and items[0].line == 15


def test_simple_script_nima_yousefi():
    items = read("simple.fountain", "fountain")
    assert dialogue(items) == [("man", "I'm writing.")]
    text = everything(items)
    for unspoken in (
        "A Simple Script",
        "Nima",
        "2/1/2012",
        "Comment",
        "Synopsis",
        "boneyard",
        "Section 1",
        "FORCED SCENE HEADING",
        "Burn to White",
        "THE END",
        "FADE IN",
        "passionately",
    ):
        assert unspoken not in text, unspoken
    assert [u.text for u in items if u.speaker == "narrator"] == [
        "A MAN sits alone at his desk.",
        "Another scene.",
        "This is in section one.",
        "This should be at a higher depth than the previous section.",
    ]


def test_fdx_and_its_fountain_twin():
    fdx = read("sample-04.fdx", "fdx")
    fountain = read("sample-04.fountain", "fountain")
    speeches = [
        ("author", "Writers block again!"),
        (
            "dog",
            "Bark! Bark! Roof! Your not blocked. You're trying to write the story from the wrong chacacter's viewpoint.",
        ),
        ("author", "But you spoke?"),
        ("dog", "That goes without saying, better run along before you loose your cardio moment."),
    ]
    assert dialogue(fdx) == speeches
    # The twins differ in one speech as published ("But you spoke?" / "You spoke?").
    assert dialogue(fountain) == [
        s if s[1] != "But you spoke?" else ("author", "You spoke?") for s in speeches
    ]
    assert [u.uid for u in fdx if u.text != "But you spoke?"][:3] == [u.uid for u in fountain][:3]
    for items in (fdx, fountain):
        text = everything(items)
        for unspoken in (
            "SAMPLE 04",
            "Jane Doe",
            "ACME",
            "FADE IN",
            "anguished",
            "STUDIO APARTMENT",
        ):
            assert unspoken not in text, unspoken


def test_fdx_script_note_is_not_spoken():
    assert [(u.speaker, u.text) for u in read("note.fdx", "fdx")] == [
        ("narrator", "Action. Action.")
    ]


def test_yarn_spinner_string_table():
    items = read("space_en.csv", "table")
    assert len(items) == 28
    assert [u.uid for u in items][:3] == ["line:5837f2", "line:ship09", "line:ship10"]
    assert (items[0].speaker, items[0].text, items[0].language) == ("ship", "Hey, friend.", "en")
    assert {u.speaker for u in items} == {"ship", "player", "sally", "narrator"}
    assert [u.text for u in items if u.speaker == "narrator"] == [
        "Anything exciting happen on your watch?",  # player choices: no speaker in the text
        "Sorry about the console.",
        "See you later.",
    ]
    assert items[-1].line == 29 and items[-1].text == "Yeah. Don't do it again."


def test_coriolanus_own_line_labels():
    items = read("coriolanus_excerpt.txt", "play")
    speakers = [u.speaker for u in items]
    assert speakers[:6] == ["menenius", "marcius", "menenius", "marcius", "menenius", "marcius"]
    assert set(speakers) == {
        "menenius",
        "marcius",
        "messenger",
        "first senator",
        "cominius",
        "titus",
        "sicinius",
        "brutus",
    }
    assert len(items) == 26  # 28 labels, two with empty speeches (TITUS:, First Senator:)
    assert items[1].text.startswith("Hang 'em! They say! They'll sit by the fire")
    assert items[1].text.endswith("As I could pick my lance.")  # wrapped lines joined
    assert (items[-1].speaker, items[-1].text, items[-1].line) == (
        "brutus",
        "He has no equal.",
        132,
    )
    assert not any(u.text.endswith(":") and len(u.text) < 20 for u in items)


REAL_EPISODES = {
    "fountain": ("brick_and_steel.fountain", ""),
    "fdx": ("sample-04.fdx", ""),
    "play": ("coriolanus_excerpt.txt", "format: play, "),
    "table": ("space_en.csv", ""),
}


@pytest.mark.slow
def test_each_real_file_builds_to_an_episode_spoken_in_order(make_project):
    """Issue 13's done-when: the real Fountain, its FDX twin's sibling, the play and the
    dialogue table each build (real snakemake, fake engine) to an episode whose segments are
    the source's speeches, by their characters, in order."""
    import json
    import shutil

    from ttsbuild.core.numbers import speak_numbers
    from ttsbuild.sources import source_format

    speakers: set[str] = set()
    expected: dict[str, list[tuple[str, str]]] = {}
    for name, (file, extra) in REAL_EPISODES.items():
        fmt = "play" if extra else source_format(file)
        items = read(file, fmt)
        # spoken as planned: digits read as words ("Mark 4" is "Mark four"; core/numbers.py)
        expected[name] = [(u.speaker, speak_numbers(u.text, "en")[0]) for u in items]
        speakers |= {u.speaker for u in items}
    characters = "".join(f"  {json.dumps(s)}: {{}}\n" for s in sorted(speakers | {"narrator"}))
    episodes = "".join(
        f"  {name}: {{{extra}source: sources/{file}}}\n"
        for name, (file, extra) in REAL_EPISODES.items()
    )
    config = f"engine: fake\nmax_chars: 5000\ncharacters:\n{characters}episodes:\n{episodes}"
    project = make_project(config=config)
    (project.path / "sources").mkdir()
    for file, _ in REAL_EPISODES.values():
        shutil.copy(DATA / file, project.path / "sources" / file)
    targets = [f"out/{name}.wav" for name in REAL_EPISODES]
    result = project.snakemake("-j1", *targets)
    assert result.returncode == 0, result.output
    for name in REAL_EPISODES:
        timing = json.loads((project.path / f"out/{name}.timing.json").read_text())
        spoken = [(i["speaker"], i["text"]) for i in timing["items"]]
        assert spoken == expected[name], name
        assert (project.path / f"out/{name}.wav").stat().st_size > 1000
