"""Other source formats in real builds: incremental redrafts, uids in the outputs, the cast
command, and malformed sources stopping the build with one line before anything renders."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ProjectDir, rendered_count
from tests.test_errors import _error_line, _write, built, project  # noqa: F401 (fixtures)

FOUNTAIN_CONFIG = """\
engine: fake
characters:
  narrator: {}
  steel: {}
  brick: {params: {speed: 1.1}}
aliases: {dick steel: steel}
episodes:
  ep1: {source: scripts/ep1.fountain, parentheticals: {whispering: {speed: 0.9}}}
"""

FOUNTAIN = """\
Title: Test
Author: Nobody

EXT. PATIO - DAY

A gorgeous day.

STEEL
Beer's ready!

BRICK (V.O.)
(whispering)
Are they cold?

DICK STEEL (CONT'D)
Does a bear crap in the woods?

[[a note, never spoken]]

BRICK
To retirement.
"""


@pytest.mark.slow
def test_fountain_redraft_renders_only_changed_speeches(make_project):
    proj = make_project(config=FOUNTAIN_CONFIG, script="")
    proj.write("scripts/ep1.fountain", FOUNTAIN)
    first = proj.snakemake("-j1", "out/ep1.wav")
    assert first.returncode == 0, first.output
    assert rendered_count(first) == 5
    plan = json.loads((proj.path / "build/plans/ep1.json").read_text())
    timing = json.loads((proj.path / "out/ep1.timing.json").read_text())
    uids = [i["uid"] for i in timing["items"]]
    assert len(uids) == 5 and all(uids) and len(set(uids)) == 5
    assert [i["speaker"] for i in timing["items"]] == [
        "narrator",
        "steel",
        "brick",
        "steel",
        "brick",
    ]
    assert [i["uid"] for i in plan["items"] if i["type"] == "segment"] == uids

    redraft = (
        FOUNTAIN.replace("Beer's ready!", "The beer is ready!").replace(  # change one speech
            "DICK STEEL (CONT'D)\nDoes a bear crap in the woods?\n\n", ""
        )  # delete one
        + "\nSTEEL\nScrew retirement.\n"  # add one
    )
    proj.write("scripts/ep1.fountain", redraft)
    second = proj.snakemake("-j1", "out/ep1.wav")
    assert second.returncode == 0, second.output
    assert rendered_count(second) == 2
    after = json.loads((proj.path / "out/ep1.timing.json").read_text())
    kept = {i["text"]: i["uid"] for i in after["items"]}
    before = {i["text"]: i["uid"] for i in timing["items"]}
    for text in ("A gorgeous day.", "Are they cold?", "To retirement."):
        assert kept[text] == before[text]


def test_cast_lists_speakers_and_prints_a_block(make_project):
    proj = make_project(
        config=FOUNTAIN_CONFIG.replace("  brick: {params: {speed: 1.1}}\n", ""), script=""
    )
    proj.write("scripts/ep1.fountain", FOUNTAIN + "\nMARY’S MOM (O.S.)\nDinner!\n")
    result = proj.ttsbuild("cast", "ep1")
    assert result.returncode == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "ep1: scripts/ep1.fountain: 5 speakers, 6 speeches"
    rows = [ln.split(None, 1) for ln in lines[2:7]]
    assert rows == [
        ["1", "narrator    narrator"],
        ["1", "steel       steel"],
        ["2", "brick       (not in the config)"],
        ["1", "dick steel  steel"],  # an alias of steel
        ["1", "mary's mom  (not in the config)"],
    ]
    block = result.stdout.split("then choose the voices:\n", 1)[1]
    assert block == "characters:\n  brick: {}\n  mary's mom: {}\n"
    check = proj.ttsbuild("check")
    assert check.returncode == 1
    assert check.stderr.splitlines() == [
        (
            "ttsbuild: error: scripts/ep1.fountain:13: 2 unknown characters: 'brick' (line 13), "
            "'mary's mom' (line 24); add them under 'characters:' or 'aliases:' in "
            "config/config.yaml ('ttsbuild cast' prints a block to paste)"
        )
    ]


C = """\
engine: fake
characters:
  narrator: {}
  alice: {params: {speed: 1.1}}
  bob: {params: {brightness: 0.8}}
aliases: {al: alice}
episodes:
  ep1: {source: scripts/ep1.txt}
"""


def episode(source: str, extra: str = "") -> dict[str, str]:
    return {
        "config/config.yaml": C.replace("{source: scripts/ep1.txt}", f"{{source: {source}{extra}}}")
    }


SOURCE_CASES = [
    (
        "eps/ep1.fountain",
        "\nBOB\nHi.\n\n/* cut\n\nALICE\nGone.\n",
        "eps/ep1.fountain:5: boneyard '/*' is never closed with '*/'",
        episode("eps/ep1.fountain"),
    ),
    (
        "eps/ep1.fountain",
        "\nBOB\nHi.\n\nCAROL\nHey.\n\nDAVE\nYo.\n",
        "eps/ep1.fountain:6: 2 unknown characters: 'carol' (line 6), 'dave' (line 9)",
        episode("eps/ep1.fountain"),
    ),
    (
        "eps/ep1.fdx",
        "<FinalDraft><Content><Paragraph Type='Action'><Text>x</Text></Content></FinalDraft>",
        "eps/ep1.fdx:1: not well-formed XML: mismatched tag",
        episode("eps/ep1.fdx"),
    ),
    (
        "eps/ep1.fdx",
        '<?xml version="1.0"?>\n<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n<FinalDraft><Content><Paragraph Type="Action"><Text>&b;</Text></Paragraph></Content></FinalDraft>\n',
        "eps/ep1.fdx:2: refused: the file declares XML entities",
        episode("eps/ep1.fdx"),
    ),
    (
        "eps/ep1.csv",
        "id,who,words\n1,bob,Hi.\n",
        "eps/ep1.csv:1: no text column",
        episode("eps/ep1.csv"),
    ),
    (
        "eps/ep1.csv",
        "id,speaker,text\n1,bob,Hi.\n2,bob,Hi, again.\n",
        "eps/ep1.csv:3: this row has 4 fields, the header has 3",
        episode("eps/ep1.csv"),
    ),
    (
        "eps/ep1.csv",
        'id,speaker,text\n1,bob,"Hi.\n',
        "eps/ep1.csv:2: row starting here is malformed",
        episode("eps/ep1.csv"),
    ),
    (
        "eps/ep1.tsv",
        "id\tspeaker\ttext\nq1\tbob\tHi.\nq1\talice\tHo.\n",
        "eps/ep1.tsv:3: id 'q1' is used twice (first on line 2)",
        episode("eps/ep1.tsv"),
    ),
    (
        "eps/ep1.txt",
        "BOB:\nHi.\n",
        "config/config.yaml:8: episode 'ep1': label_pattern is not a valid regular expression",
        episode("eps/ep1.txt", ", format: play, label_pattern: '(?P<name>'"),
    ),
    (
        "eps/ep1.txt",
        "BOB:\nHi.\n",
        "config/config.yaml:8: 'episodes.ep1.format': 'screenplay' is not one of",
        episode("eps/ep1.txt", ", format: screenplay"),
    ),
    (
        "eps/ep1.fountain",
        "Title: Only a title page\nAuthor: Me\n",
        "eps/ep1.fountain: the episode has nothing to say",
        episode("eps/ep1.fountain"),
    ),
]


@pytest.mark.parametrize(
    "case", SOURCE_CASES, ids=[f"{t[0][-8:]}{i}" for i, t in enumerate(SOURCE_CASES)]
)
def test_bad_source_gives_one_clear_line(project: ProjectDir, case):  # noqa: F811
    """In-process through the Snakefile's entry points (tests/test_errors.py runs a few cases
    through real snakemake)."""
    target, content, expected, more = case
    store_before = project.segments()
    for relative, data in more.items():
        _write(project, relative, data)
    _write(project, target, content)
    result = project.plan_in_process()
    assert result.returncode != 0
    assert expected in _error_line(result)
    assert project.segments() == store_before  # nothing rendered before the source was read
