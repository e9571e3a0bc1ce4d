"""Scene breaks in the plan (planning/breaks.py): runs merged, ends without pauses, sounds
resolved and hashed, a bad sound a one-line config error (issue 26)."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf

from ttsbuild.config.project import load_project
from ttsbuild.planning.plan import Silence
from ttsbuild.planning.planner import Planner

CONFIG = """\
engine: fake
characters:
  narrator: {}
  bob: {}
episodes:
  ep1:
    source: scripts/ep1.fountain
    breaks: {scene_headings: {pause_ms: 2000, sound: sounds/sting.wav}}
"""
FOUNTAIN = "INT. A - DAY\n\nBOB\nHi.\n\nCUT TO:\n\nEXT. B - NIGHT\n\nBOB\nBye.\n\nFADE OUT.\n"


def test_breaks_in_the_plan(make_project, monkeypatch):
    monkeypatch.setenv("TTSBUILD_ENGINE_PLUGINS", "fake=tests.fake_engine:FakeEngine")
    proj = make_project(CONFIG, "")
    proj.write("scripts/ep1.fountain", FOUNTAIN)
    (proj.path / "sounds").mkdir()
    sf.write(str(proj.path / "sounds/sting.wav"), np.zeros(100) + 0.1, 8000)
    plan = Planner(load_project(proj.path)).plan_episode("ep1")
    silences = [i for i in plan.items if isinstance(i, Silence)]
    assert [(s.line, s.kind, s.milliseconds, bool(s.sound)) for s in silences] == [
        (1, "scene_headings", 0.0, True),  # before the first speech: its sound only
        (6, "transitions", 2000.0, True),  # CUT TO: + EXT. B: one break, the longer
        (13, "transitions", 0.0, False),  # FADE OUT. after the last speech
    ]
    assert silences[1].sound_hash == silences[0].sound_hash and len(silences[0].sound_hash) == 64
    assert Silence.from_dict(json.loads(json.dumps(silences[1].to_dict()))) == silences[1]


def test_a_missing_sound_is_a_config_error(make_project):
    proj = make_project(CONFIG, "")
    proj.write("scripts/ep1.fountain", FOUNTAIN)
    result = proj.plan_in_process()
    assert result.returncode != 0
    line = result.stderr.strip().splitlines()[-1]
    assert "config/config.yaml:8" in line and "sounds/sting.wav' not found" in line, line
