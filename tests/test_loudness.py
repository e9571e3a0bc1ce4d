"""Mastering: the clip-wise loudness equals the whole-track BS.1770 measurement; peaks capped."""

from __future__ import annotations

import json

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from ttsbuild.assembly.mastering import block_powers, integrated_loudness, limit, true_peak
from ttsbuild.core.audio import Audio


def _burst(rate: int, seconds: float, freq: float, amp: float) -> Audio:
    t = np.arange(int(rate * seconds)) / rate
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    return Audio((amp * env * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate)


def test_clipwise_loudness_matches_whole_track():
    rate = 24000
    clips = [_burst(rate, 1.0 + i * 0.37, 180 + 40 * i, 0.1 + 0.05 * i) for i in range(6)]
    gap = np.zeros(int(0.35 * rate), dtype=np.float32)
    track = np.concatenate([np.concatenate([c.samples, gap]) for c in clips])
    whole = pyloudnorm.Meter(rate).integrated_loudness(track.astype(np.float64))
    clipwise = integrated_loudness([block_powers(c) for c in clips])
    assert abs(whole - clipwise) < 0.3


def test_limit_caps_true_peak():
    loud = _burst(24000, 2.0, 440, 1.4)
    assert true_peak(loud) > 1.0
    capped = limit(loud, -1.0)
    assert 20 * np.log10(true_peak(capped)) <= -1.0
    assert capped.num_samples == loud.num_samples


@pytest.mark.slow
def test_episode_meets_loudness_target_and_ceiling(make_project):
    project = make_project()
    config = (project.path / "config/config.yaml").read_text()
    project.write("config/config.yaml", config + "output: {loudness_lufs: -20, peak_dbfs: -2}\n")
    result = project.snakemake("-j1", "out/ep1.wav")
    assert result.returncode == 0, result.output
    audio, rate = sf.read(str(project.path / "out/ep1.wav"))
    measured = pyloudnorm.Meter(rate).integrated_loudness(audio)
    assert abs(measured - -20) <= 0.5
    assert 20 * np.log10(true_peak(Audio(audio.astype(np.float32), rate))) <= -2.0 + 0.05
    report = json.loads((project.path / "out/ep1.timing.json").read_text())
    assert abs(report["mastering"]["integrated_lufs"] - measured) < 0.3
