"""F5-TTS through the adapter, with a tiny random-weight checkpoint (real DiT, CFM, Vocos)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.engines.conftest import F5_TEST_PARAMS as SMALL
from tests.engines.support import make_request, render_concurrently
from ttsbuild.core.errors import EngineError, RenderError
from ttsbuild.engines import EngineOptions, get_engine

TRANSCRIPT = "Some call me nature, others call me mother nature."


@pytest.fixture(scope="module")
def model(f5_dir: Path):
    return get_engine("f5tts").load(
        EngineOptions.from_dict({"device": "cpu", "checkpoint_dir": str(f5_dir)})
    )


def request(text: str, voice: Path, transcript: str = TRANSCRIPT, **params: float):
    params = {**SMALL, **params}
    return make_request("f5tts", text, voice, reference_text=transcript, **params)  # type: ignore[arg-type]


def test_render_is_seeded_and_uses_transcript_and_speed(model, voices):
    first = model.synthesize(request("Hello there, Bob.", voices["a"], seed=1))
    assert first.sample_rate == 24000
    assert np.all(np.isfinite(first.samples)) and first.peak() > 1e-4
    assert model.synthesize(
        request("Hello there, Bob.", voices["a"], seed=1)
    ).samples.tobytes() == (first.samples.tobytes())
    assert model.synthesize(
        request("Hello there, Bob.", voices["a"], seed=2)
    ).samples.tobytes() != (first.samples.tobytes())
    # the transcript is really passed: it sets the text and the length F5 generates
    other = model.synthesize(request("Hello there, Bob.", voices["a"], "Short.", seed=1))
    assert other.num_samples != first.num_samples
    slow = model.synthesize(request("Hello there, Bob.", voices["a"], seed=1, speed=0.5))
    assert slow.duration == pytest.approx(2 * first.duration, rel=0.1)


def test_two_threads_give_the_same_bytes_as_one(f5_dir: Path, model, voices):
    requests = [
        request("First line.", voices["a"], seed=3),
        request("Second line.", voices["c"], seed=4),
    ]
    serial = [model.synthesize(r).samples.tobytes() for r in requests]
    shared = get_engine("f5tts").load(
        EngineOptions.from_dict({"device": "cpu", "checkpoint_dir": str(f5_dir)})
    )
    # a fresh model: both threads condition their voice and generate at once
    assert render_concurrently(shared, requests) == serial


def test_nan_generation_fails_the_segment(f5_nan_dir: Path, voices):
    from ttsbuild.rendering.render import synthesize

    options = EngineOptions.from_dict({"device": "cpu", "checkpoint_dir": str(f5_nan_dir)})
    with pytest.raises(
        RenderError, match=r"^ep1.txt:2 \(bob\): the engine returned NaN or infinite samples$"
    ):
        synthesize(request("Hello.", voices["a"]), options, "ep1.txt:2 (bob)")


def test_checkpoint_folder_layout_errors(tmp_path: Path, f5_dir: Path):
    engine = get_engine("f5tts")
    with pytest.raises(
        EngineError,
        match=r"must hold exactly one model\*\.safetensors or model\*\.pt file \(found none",
    ):
        engine.model_id(EngineOptions.from_dict({"checkpoint_dir": str(tmp_path)}))
    with pytest.raises(EngineError, match=r"no released checkpoint named 'F5TTS_Huge'"):
        engine.model_id(EngineOptions.from_dict({"model": "F5TTS_Huge"}))
    # swapping the weights in a folder changes the model id, so segments re-render
    before = engine.model_id(EngineOptions.from_dict({"checkpoint_dir": str(f5_dir)}))
    assert before.startswith("F5TTS_v1_Base@")
    broken = tmp_path / "broken"
    shutil.copytree(f5_dir, broken)
    (broken / "model_0.safetensors").write_bytes(b"not a checkpoint")
    assert engine.model_id(EngineOptions.from_dict({"checkpoint_dir": str(broken)})) != before
    with pytest.raises(EngineError, match=r"^engine 'f5tts' failed to load from .*broken: "):
        engine.load(EngineOptions.from_dict({"device": "cpu", "checkpoint_dir": str(broken)}))
