"""Mastering: the clip-wise loudness equals the whole-track BS.1770 measurement; peaks capped."""

from __future__ import annotations

import json

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

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


def _pyloudnorm_blocks(audio: Audio, context: float = 0.3) -> np.ndarray:
    """The blocks as pyloudnorm's own loop measures them (what block_powers replaced)."""
    import warnings

    pad = np.zeros(int(context * audio.sample_rate), dtype=np.float64)
    padded = np.concatenate([pad, audio.samples.astype(np.float64), pad])
    meter = pyloudnorm.Meter(audio.sample_rate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        meter.integrated_loudness(padded)
    return np.power(10.0, (np.asarray(meter.blockwise_loudness, dtype=np.float64) + 0.691) / 10)


@settings(max_examples=60, deadline=None)
@given(
    rate=st.sampled_from([8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 96000]),
    seconds=st.floats(0.11, 9.0),
    seed=st.integers(0, 2**16),
    shape=st.sampled_from(["noise", "burst", "silence"]),
)
def test_block_powers_equal_pyloudnorms_loop_to_the_bit(rate, seconds, seed, shape):
    """The vectorized blocks are pyloudnorm's, bit for bit, at any rate and length (so the
    gain, the reports and every cached clip stay what they were)."""
    n = int(rate * seconds)
    if shape == "burst":
        audio = _burst(rate, seconds, 90 + seed % 900, 0.05 + (seed % 7) / 10)
    else:
        amp = 0.0 if shape == "silence" else 0.02 + (seed % 5) / 10
        samples = np.random.default_rng(seed).standard_normal(n) * amp
        audio = Audio(samples.astype(np.float32), rate)
    if audio.num_samples + 2 * int(0.3 * rate) <= 0.4 * rate:
        assert block_powers(audio).size == 0
        return
    expected = _pyloudnorm_blocks(audio)
    got = block_powers(audio)
    assert got.shape == expected.shape and np.array_equal(got, expected)
