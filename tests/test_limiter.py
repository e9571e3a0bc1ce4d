"""The look-ahead true-peak limiter and loudness matching of voice assets (issue 23, finding 2)."""

from __future__ import annotations

import numpy as np
import pyloudnorm
from hypothesis import given, settings
from hypothesis import strategies as st

from ttsbuild.assembly.limiter import _sliding_min, match_loudness, true_peak_limit
from ttsbuild.assembly.mastering import to_db, true_peak
from ttsbuild.core.audio import Audio

RATE = 24000


@given(st.lists(st.floats(0, 1), min_size=1, max_size=60), st.integers(1, 20))
def test_sliding_min_is_the_window_minimum(values, width):
    x = np.array(values)
    width = min(width, len(x))
    expected = [min(values[i : i + width]) for i in range(len(values) - width + 1)]
    assert np.allclose(_sliding_min(x, width), expected)


def _speechlike(seed: int, seconds: float = 1.5) -> Audio:
    """Noise bursts with sharp transients: a crest factor like speech's, worse peaks."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    envelope = np.repeat(rng.uniform(0.0, 1.0, n // 480 + 1), 480)[:n] ** 3
    signal = rng.standard_normal(n) * envelope * 0.1
    clicks = rng.integers(0, n, 5)
    signal[clicks] = rng.choice([-0.99, 0.99], 5)
    return Audio(signal.astype(np.float32), RATE)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.floats(-6.0, -0.5))
def test_limiter_keeps_every_true_peak_at_or_under_the_ceiling(seed, ceiling):
    audio = _speechlike(seed).with_gain(4.0)
    out = true_peak_limit(audio, ceiling)
    assert to_db(true_peak(out)) <= ceiling + 1e-6
    assert np.all(np.abs(out.samples) <= np.abs(audio.samples) + 1e-7)  # gain only, never up


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000), st.floats(-24.0, -14.0))
def test_loudness_matching_meets_target_and_ceiling(seed, target):
    """Dialogue targets (-24 to -14 LUFS) under -1 dBTP, on signals peakier than speech. A
    louder target than 12 dB of limiting allows is left short, with a warning per file."""
    out, _, _ = match_loudness(_speechlike(seed), target, -1.0)
    measured = pyloudnorm.Meter(RATE).integrated_loudness(out.samples.astype(np.float64))
    assert abs(measured - target) <= 0.5
    assert to_db(true_peak(out)) <= -1.0 + 1e-6
