"""Speaker labels in subtitle cues (issue 26): "MAN:" at the start of a cue line is never read
aloud by default; a label that names a character or alias gives the line to it; `cast` lists
the labels of an SRT; the other modes strip or speak them."""

from __future__ import annotations

import logging

import pytest

from ttsbuild.config.project import load_project
from ttsbuild.planning.planner import Planner
from ttsbuild.reports.cast import episode_cast
from ttsbuild.sources.subtitles import cue_text

CONFIG = """\
engine: fake
characters:
  narrator: {}
  alice: {}
aliases: {lithgow: alice}
episodes:
  ep1: {source: subs/ep1.srt%s}
"""
SRT = """\
1
00:00:01,000 --> 00:00:03,000
MAN: Where is everybody?

2
00:00:04,000 --> 00:00:06,000
LITHGOW: Gone home.

3
00:00:07,000 --> 00:00:09,000
- MAN: All of them?
- ALICE: At 10:30, yes.

4
00:00:10,000 --> 00:00:12,000
MAN: Then we wait.
"""


@pytest.fixture
def project(make_project, monkeypatch):
    monkeypatch.setenv("TTSBUILD_ENGINE_PLUGINS", "fake=tests.fake_engine:FakeEngine")

    def make(extra: str = ""):
        proj = make_project(CONFIG % extra, "")
        proj.write("subs/ep1.srt", SRT)
        return load_project(proj.path)

    return make


def spoken(project) -> list[tuple[str, str]]:
    plan = Planner(project).plan_episode("ep1")
    return [(s.speaker, s.text) for s in plan.segments()]


def test_labels_are_not_spoken_and_known_ones_pick_the_voice(project, caplog):
    # (issue 26) "MAN: Where is everybody?" was read aloud, label and all, by the narrator
    with caplog.at_level(logging.WARNING):
        said = spoken(project())
    assert said == [
        ("narrator", "Where is everybody?"),
        ("alice", "Gone home."),  # LITHGOW is an alias of alice
        ("narrator", "All of them?"),
        ("alice", "At ten thirty, yes."),  # numbers are read as words (core/numbers.py)
        ("narrator", "Then we wait."),
    ]
    warned = [r.getMessage() for r in caplog.records if "speaker label" in r.getMessage()]
    assert warned == [
        "ttsbuild: warning: subs/ep1.srt:3: speaker label 'MAN:' (3 cues, first cue 1) is not "
        "spoken (not a character or alias; map it under 'aliases:' to give it a voice)"
    ]


def test_strip_and_speak_modes(project):
    assert [t for _, t in spoken(project(", speaker_labels: strip"))][:2] == [
        "Where is everybody?",
        "Gone home.",
    ]
    assert {s for s, _ in spoken(project(", speaker_labels: strip"))} == {"narrator"}
    assert spoken(project(", speaker_labels: speak"))[0] == ("narrator", "MAN: Where is everybody?")


def test_cast_lists_the_labels_of_an_srt(project):
    _, entries = episode_cast(project(), "ep1")
    assert [(e.speaker, e.speeches, e.character) for e in entries] == [
        ("man", 3, None),
        ("lithgow", 1, "alice"),
        ("alice", 1, "alice"),
    ]


@pytest.mark.parametrize(
    "line,script",
    [
        ("DR. SMITH: Sit down.", "Sit down."),
        ("WOMAN 2: No.", "No."),
        ("Note: not a label.", "Note: not a label."),
        ("At 10:30 we leave.", "At 10:30 we leave."),
        ("THE MAN IN THE HAT WITH A CANE: Hi.", "THE MAN IN THE HAT WITH A CANE: Hi."),
        ("MAN:", ""),
    ],
)
def test_what_counts_as_a_label(line, script):
    assert cue_text((line,), set(), True).script == script


def test_reading_speed_of_source_cues_is_checked(project, caplog):
    fast = SRT.replace("00:00:04,000 --> 00:00:06,000", "00:00:04,000 --> 00:00:04,400")
    p = project()
    (p.root / "subs/ep1.srt").write_text(fast)
    with caplog.at_level(logging.WARNING):
        Planner(p).plan_episode("ep1")
    (line,) = [r.getMessage() for r in caplog.records if "characters a second" in r.getMessage()]
    # "LITHGOW: Gone home." is 19 characters shown in 0.4 s; cue 3, 43 in 2 s
    assert line == (
        "ttsbuild: warning: subs/ep1.srt:7: 2 of 4 cues read faster than 17 characters a "
        "second (srt_max_cps); the fastest: cue 2 47.5, cue 3 21.5"
    )
