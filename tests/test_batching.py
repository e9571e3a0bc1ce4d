"""Inference batches (ttsbuild/engines/batching.py) and the render job's use of them, with fake
models: grouping, order, the batch size cap, out-of-memory splitting, fallbacks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from ttsbuild.core.audio import Audio
from ttsbuild.engines import EngineInfo, EngineOptions, RenderRequest, Voice
from ttsbuild.engines.base import BatchModel
from ttsbuild.engines.batching import (
    batch_key,
    is_out_of_memory,
    plan_batches,
    synthesize_split,
)

INFO = EngineInfo("x", 16000, None, False, False, max_batch=8, batch_shared=("language", "steps"))


def req(
    text: str,
    *,
    language: str = "en",
    voice: str = "v",
    steps: float = 4,
    seed: int = 0,
    engine: str = "x",
) -> RenderRequest:
    return RenderRequest(
        text, engine, "1", "m", language, Voice("", voice), (("steps", steps),), seed
    )


class OutOfMemoryError(RuntimeError):
    """Stands in for torch.OutOfMemoryError (matched by name, as torch's is)."""


class FakeBatchModel:
    """Renders each request as its own tone; a batch larger than ``fits`` runs out of memory."""

    def __init__(
        self,
        fits: int = 64,
        error: type[Exception] = OutOfMemoryError,
        message: str = "CUDA out of memory. Tried to allocate 2.00 GiB",
    ):
        self.fits, self.error, self.message = fits, error, message
        self.calls: list[int] = []

    def synthesize(self, request: RenderRequest) -> Audio:
        return self.synthesize_batch([request])[0]

    def synthesize_batch(self, requests: Sequence[RenderRequest]) -> list[Audio]:
        self.calls.append(len(requests))
        if len(requests) > self.fits:
            raise self.error(self.message)
        return [
            Audio(np.full(10 + len(r.text), 0.01 * (1 + r.seed % 50), np.float32), 16000)
            for r in requests
        ]


def test_batches_group_compatible_requests_sorted_by_length_in_any_input_order():
    requests = [req("a" * n, seed=n) for n in (5, 1, 9, 3, 7, 2)] + [
        req("bb", language="de"),
        req("cc", steps=8),
    ]
    plans = []
    for order in (requests, list(reversed(requests)), requests[3:] + requests[:3]):
        batches = plan_batches(order, lambda r: r, lambda r: INFO, lambda r: 4)
        plans.append([[(r.text, r.language, r.param("steps")) for r in b] for b in batches])
    assert plans[0] == plans[1] == plans[2]
    en4 = [b for b in plans[0] if b[0][1] == "en" and b[0][2] == 4]
    assert [[len(t) for t, _, _ in b] for b in en4] == [[1, 2, 3, 5], [7, 9]]
    assert sorted(len(b) for b in plans[0]) == [1, 1, 2, 4]  # de and steps=8 batch alone


def test_batch_size_is_capped_by_the_engine_and_voice_can_be_shared():
    info = EngineInfo("x", 16000, None, False, False, max_batch=2, batch_shared=("voice",))
    requests = [req(t, voice=v) for t, v in (("a", "1"), ("b", "1"), ("c", "1"), ("d", "2"))]
    batches = plan_batches(requests, lambda r: r, lambda r: info, lambda r: 16)
    assert sorted(len(b) for b in batches) == [1, 1, 2]
    assert batch_key(req("a", voice="1"), info) != batch_key(req("a", voice="2"), info)
    sequential = EngineInfo("x", 16000, None, False, False)  # max_batch defaults to 1
    assert all(
        len(b) == 1 for b in plan_batches(requests, lambda r: r, lambda r: sequential, lambda r: 16)
    )


@pytest.mark.parametrize(
    "error,message",
    [
        (OutOfMemoryError, "CUDA out of memory"),
        (
            RuntimeError,
            "[enforce fail] DefaultCPUAllocator: can't allocate memory: you tried ... out of memory",
        ),
        (MemoryError, "out of memory"),
    ],
)
def test_an_out_of_memory_batch_splits_in_halves_and_gives_the_same_results(error, message):
    requests = [req("a" * n, seed=n) for n in range(1, 12)]
    whole = FakeBatchModel().synthesize_batch(requests)
    model = FakeBatchModel(fits=3, error=error, message=message)
    split = synthesize_split(model, requests)
    assert [a.samples.tobytes() for a in split] == [a.samples.tobytes() for a in whole]
    # 11 -> 5 + 6 -> (2 + 3) + (3 + 3): every batch that ran fits, every one that failed halved
    assert model.calls == [11, 5, 2, 3, 6, 3, 3]


def test_other_errors_and_a_single_request_out_of_memory_are_raised():
    with pytest.raises(ValueError, match="bad text"):
        synthesize_split(
            FakeBatchModel(fits=0, error=ValueError, message="bad text"), [req("a"), req("b")]
        )
    model = FakeBatchModel(fits=0)
    with pytest.raises(OutOfMemoryError):
        synthesize_split(model, [req("a"), req("b")])
    assert model.calls == [2, 1]
    assert not is_out_of_memory(RuntimeError("shape mismatch"))


def test_a_model_without_synthesize_batch_runs_one_at_a_time():
    class Plain:
        def __init__(self) -> None:
            self.texts: list[str] = []

        def synthesize(self, request: RenderRequest) -> Audio:
            self.texts.append(request.text)
            return Audio(np.zeros(5, np.float32), 16000)

    plain = Plain()
    assert not isinstance(plain, BatchModel) and isinstance(FakeBatchModel(), BatchModel)
    assert len(synthesize_split(plain, [req("a"), req("b")])) == 2 and plain.texts == ["a", "b"]


def test_render_jobs_batches_missing_segments_and_matches_one_at_a_time(
    tmp_path: Path, monkeypatch
):
    """The render job's batches give the same files as rendering one at a time; a batch that
    fails as a whole renders its segments alone, so one bad segment fails only itself."""
    from ttsbuild.rendering import render
    from ttsbuild.rendering.batch import RenderJob
    from ttsbuild.rendering.render import inference_batches, render_jobs
    from ttsbuild.store.segments import segment_path

    class Engine:
        info = EngineInfo("x", 16000, None, False, False, max_batch=4)

    class Model(FakeBatchModel):
        def synthesize_batch(self, requests: Sequence[RenderRequest]) -> list[Audio]:
            if any("FAIL" in r.text for r in requests):
                raise RuntimeError("engine broke")
            return super().synthesize_batch(requests)

    model = Model()
    monkeypatch.setattr(render, "get_engine", lambda name: Engine())
    monkeypatch.setattr(render, "get_model", lambda name, options: model)
    jobs = [
        RenderJob(f"{i:020x}", req(f"line number {i}" + "!" * (i % 3), seed=i), f"ep:{i}", "a")
        for i in range(1, 11)
    ]
    options = {"x": EngineOptions.from_dict({"batch_size": 4})}
    batched = tmp_path / "batched"
    assert sorted(len(b) for b in inference_batches(jobs, batched, options)) == [2, 4, 4]
    assert render_jobs(jobs, batched, options) == 10
    assert sorted(model.calls) == [2, 4, 4]
    single = tmp_path / "single"
    assert render_jobs(jobs, single, {"x": EngineOptions.from_dict({"batch_size": 1})}) == 10
    for job in jobs:
        assert (
            segment_path(batched, job.key).read_bytes()
            == segment_path(single, job.key).read_bytes()
        )
    # stored segments never enter a batch
    assert all(len(b) == 1 for b in inference_batches(jobs, batched, options))

    bad = [*jobs[:3], RenderJob("f" * 20, req("FAIL here", seed=99), "ep:99", "a")]
    model.calls.clear()
    with pytest.raises(render.RenderError, match="engine broke"):
        render_jobs(bad, tmp_path / "bad", options)
    assert all(segment_path(tmp_path / "bad", j.key).exists() for j in jobs[:3])
    assert not segment_path(tmp_path / "bad", "f" * 20).exists()


def test_batch_size_comes_from_the_schema_for_every_engine(tmp_path: Path):
    from ttsbuild.config import project_from_config
    from ttsbuild.core.errors import ConfigError

    def config(engines: dict) -> dict:
        return {
            "engine": "piper",
            "characters": {"narrator": {"voice": "bundled"}},
            "episodes": {"ep": {"source": "ep.txt"}},
            "engines": engines,
        }

    project = project_from_config(config({"chatterbox": {"batch_size": 4}}), tmp_path)
    assert project.engine_options("chatterbox").batch_size == 4
    # not named under engines: the schema's defaults, not the dataclass's
    assert project.engine_options("f5tts").batch_size == 8
    assert project.engine_options("piper").device == "auto"
    with pytest.raises(
        ConfigError, match=r"engines.chatterbox.batch_size'?: 0 is less than the minimum of 1"
    ):
        project_from_config(config({"chatterbox": {"batch_size": 0}}), tmp_path)
