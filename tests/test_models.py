"""The model manager: one load per (engine, model, device), shared across threads, released."""

from __future__ import annotations

import threading

import pytest

from ttsbuild import engines
from ttsbuild.engines import EngineOptions
from ttsbuild.rendering import models


@pytest.fixture
def fake_engine(monkeypatch, tmp_path):
    monkeypatch.setenv("TTSBUILD_ENGINE_PLUGINS", "fake=tests.fake_engine:FakeEngine")
    monkeypatch.setenv("TTSBUILD_FAKE_LOADS", str(tmp_path / "loads.txt"))
    monkeypatch.setenv("TTSBUILD_FAKE_LOAD_SECONDS", "0.3")
    engines._instances.pop("fake", None)
    models.release_models()
    yield tmp_path / "loads.txt"
    models.release_models()


def test_concurrent_requests_share_one_load(fake_engine):
    got = []
    threads = [
        threading.Thread(
            target=lambda: got.append(models.get_model("fake", EngineOptions.from_dict({})))
        )
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fake_engine.read_text().split()) == 1
    assert all(m is got[0] for m in got)
    other = models.get_model("fake", EngineOptions.from_dict({"model": "fake-2"}))
    assert other is not got[0]  # another model id is another instance
    assert len(fake_engine.read_text().split()) == 2


def test_release_drops_models(fake_engine):
    first = models.get_model("fake", EngineOptions.from_dict({}))
    models.release_models()
    second = models.get_model("fake", EngineOptions.from_dict({}))
    assert second is not first
    assert len(fake_engine.read_text().split()) == 2


def test_auto_device_is_cpu_without_torch_engines():
    assert models.resolve_device("auto", uses_torch=False) == "cpu"
    assert models.resolve_device("cuda:1", uses_torch=True) == "cuda:1"
