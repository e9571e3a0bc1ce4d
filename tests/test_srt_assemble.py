"""Placing real audio: Rubber Band stretches forced to the exact sample length."""

from __future__ import annotations

import numpy as np
import pytest

from ttsbuild.assembly.cues import render_cue
from ttsbuild.assembly.srt_timing import CueSpan, TimingOptions, place_cues
from ttsbuild.core.audio import Audio

RATE = 24000


def tone(seconds: float) -> Audio:
    t = np.arange(int(seconds * RATE), dtype=np.float32) / RATE
    return Audio((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), RATE)


@pytest.mark.parametrize("target", [9_001, 24_000, 37_777])
def test_stretched_clip_has_exactly_the_cue_length(target):
    clip = tone(1.0)
    (timing,) = place_cues(
        [CueSpan(0, target, clip.num_samples)],
        TimingOptions.from_dict({"mode": "stretch_to_fit", "overflow": "cut"}),
        RATE,
    )
    out = render_cue(clip, timing, fade_ms=5)
    assert out.num_samples == target
    # Rubber Band keeps the pitch: the zero crossings per second stay those of a 220 Hz tone.
    middle = out.samples[out.num_samples // 4 : 3 * out.num_samples // 4]
    crossings = np.count_nonzero(np.diff(np.signbit(middle))) / (len(middle) / RATE)
    assert crossings == pytest.approx(440, rel=0.05)


def test_truncated_clip_is_cut_and_faded():
    clip = tone(1.0)
    spans = [CueSpan(0, 10_000, clip.num_samples), CueSpan(12_000, 20_000, clip.num_samples)]
    options = TimingOptions.from_dict({"mode": "pad_with_silence", "overflow": "cut"})
    first = place_cues(spans, options, RATE)[0]
    out = render_cue(clip, first, fade_ms=5)
    assert out.num_samples == first.length == 12_000
    assert abs(out.samples[-1]) < 1e-3  # faded out, no click
