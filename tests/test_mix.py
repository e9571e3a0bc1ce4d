"""The mix's pure parts (assembly/mix.py) and ffmpeg's absence (core/ffmpeg.py), fast."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ttsbuild.assembly import mix
from ttsbuild.core import ffmpeg
from ttsbuild.core.errors import RenderError

BED = {"duck_db": -12.0, "attack_ms": 80.0, "release_ms": 400.0, "hold_ms": 300.0}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=300))
def test_gain_is_duck_db_under_speech_and_never_beyond(flags):
    active = np.array(flags, dtype=bool)
    frame, rate = 240, 24000
    gains = mix.duck_gains(active, frame, active.size * frame, BED, rate)
    db = 20 * np.log10(gains.astype(np.float64))
    assert db.min() >= -12.0 - 1e-4 and db.max() <= 1e-4
    for f in np.flatnonzero(active):  # every sample of a speech frame: fully ducked
        assert np.allclose(db[f * frame : (f + 1) * frame], -12.0, atol=1e-3)


def test_restored_after_hold_and_release():
    active = np.zeros(300, dtype=bool)
    active[10:20] = True  # 100 ms of speech in 10 ms frames
    gains = mix.duck_gains(active, 240, 300 * 240, BED, 24000)
    db = 20 * np.log10(gains.astype(np.float64))
    ms = 24  # samples per ms
    assert db[(200 + 299) * ms] == pytest.approx(-12.0, abs=0.05)  # still held
    assert db[(200 + 300 + 200) * ms] == pytest.approx(-6.0, abs=0.1)  # half way up
    assert db[(200 + 700 + 5) * ms] == pytest.approx(0.0, abs=1e-6)  # restored
    assert db[(100 - 40) * ms] == pytest.approx(-6.0, abs=0.1)  # going down before it
    assert db[(100 - 81) * ms] == pytest.approx(0.0, abs=1e-6)


def test_missing_ffmpeg_names_the_package(monkeypatch, tmp_path):
    monkeypatch.setattr(ffmpeg.shutil, "which", lambda name: None)
    (tmp_path / "show.mp4").write_bytes(b"")
    with pytest.raises(RenderError, match=r"install the system package 'ffmpeg'.*apt-get install"):
        mix.read_bed(tmp_path / "show.mp4", 24000)


def test_undecodable_bed_is_one_error(tmp_path):
    bad = tmp_path / "bed.wav"
    bad.write_bytes(b"not audio")
    with pytest.raises(RenderError, match=r"bed.wav: the bed cannot be decoded"):
        mix.read_bed(bad, 24000)


def test_a_fifo_or_device_bed_is_one_error_and_never_blocks(tmp_path):
    # a FIFO bed hung the build (snakemake did not stop on SIGTERM either)
    import os

    fifo = tmp_path / "bed.wav"
    os.mkfifo(fifo)
    with pytest.raises(RenderError, match=r"bed.wav: the bed cannot be read: it is a FIFO"):
        mix.read_bed(fifo, 24000)
    with pytest.raises(RenderError, match=r"zero: the bed cannot be read: it is a device"):
        mix.read_bed("/dev/zero", 24000)
    with pytest.raises(RenderError, match=r"show.mp4: the bed cannot be read: it is a FIFO"):
        os.mkfifo(tmp_path / "show.mp4")
        mix.read_bed(tmp_path / "show.mp4", 24000)


def test_a_mix_that_misses_its_loudness_is_a_warning(tmp_path, caplog):
    # a peaky bed: the true-peak limiter pulled a mix to -19.7 LUFS against -16, silently
    import json

    import soundfile as sf

    from ttsbuild.config.settings import OutputSettings

    rate = 24000
    rng = np.random.default_rng(0)
    speech = np.zeros(rate * 6, dtype=np.float32)
    speech[rate : rate * 2] = 0.05 * np.sin(np.arange(rate) / 7.0)
    clicks = np.zeros(rate * 6, dtype=np.float32)
    clicks[:: rate // 50] = 1.0  # loud clicks on a quiet noise: a high crest factor
    bed = 0.01 * rng.standard_normal(rate * 6).astype(np.float32) + clicks
    sf.write(tmp_path / "ep.wav", speech, rate, subtype="PCM_24")
    sf.write(tmp_path / "bed.wav", bed, rate, subtype="FLOAT")
    settings = OutputSettings.from_dict({"loudness_lufs": -16})
    bed_settings = {"file": "bed.wav", "gain_db": 0, "duck_db": -12, "attack_ms": 80}
    bed_settings |= {"release_ms": 400, "hold_ms": 300, "threshold_db": -45}
    out, report_path = tmp_path / "ep.mix.wav", tmp_path / "ep.mix.json"
    with caplog.at_level("WARNING"):
        report = mix.mix_episode(
            tmp_path / "ep.wav", tmp_path / "bed.wav", bed_settings, settings, out, report_path
        )
    assert report["limited"] and report["integrated_lufs"] < -16.5
    (warning,) = [w for w in report["warnings"] if "LUFS" in w]
    assert "-16" in warning and "limit" in warning
    assert warning in caplog.text and json.loads(report_path.read_text())["warnings"]
