"""Unusable engine output is rejected with the script line (pure, fast)."""

from __future__ import annotations

import numpy as np
import pytest

from ttsbuild.core.audio import Audio, check_audio
from ttsbuild.core.errors import RenderError

WHAT = "scripts/ep1.txt:7 (alice)"


@pytest.mark.parametrize(
    "samples,message",
    [
        (np.zeros(0, dtype=np.float32), "returned no audio"),
        (np.zeros(16000, dtype=np.float32), "returned silence"),
        (np.array([0.1, np.inf, 0.1], dtype=np.float32), "NaN or infinite"),
        (np.full(16000 * 30, 0.1, dtype=np.float32), "30.0 s of audio, far longer"),
    ],
    ids=["empty", "silent", "inf", "runaway"],
)
def test_unusable_audio_names_the_line(samples, message):
    with pytest.raises(RenderError) as info:
        check_audio(Audio(samples, 16000), what=WHAT, max_seconds=10.0)
    assert str(info.value).startswith(WHAT + ": ")
    assert message in str(info.value)


def test_usable_audio_passes():
    check_audio(Audio(np.full(1600, 0.1, dtype=np.float32), 16000), what=WHAT, max_seconds=10.0)


def test_an_engine_that_refuses_a_request_is_reported_with_the_line(monkeypatch):
    from ttsbuild.core.errors import EngineError
    from ttsbuild.core.request import RenderRequest, Voice
    from ttsbuild.engines import EngineOptions
    from ttsbuild.rendering import render

    class Refuses:
        def synthesize(self, request: RenderRequest) -> Audio:
            raise EngineError("kokoro: no Japanese reading for 'Привет'")

    monkeypatch.setattr(render, "get_model", lambda engine, options: Refuses())
    request = RenderRequest("Привет", "kokoro", "1", "m", "ja", Voice("jf_alpha:1", "0"), (), 0)
    with pytest.raises(EngineError) as info:
        render.synthesize(request, EngineOptions.from_dict({}), WHAT)
    assert str(info.value) == f"{WHAT}: kokoro: no Japanese reading for 'Привет'"
