"""A CUDA device asked for where torch sees none: one clear error, in a build and in the GPU bench."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import pytest

from tests.conftest import REPO
from ttsbuild.config.settings import EngineOptions
from ttsbuild.core.errors import EngineError
from ttsbuild.rendering import models
from ttsbuild.rendering.models import check_cuda


def _torch(available: bool, count: int = 0, cuda: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(
        __version__="2.13.0+test",
        version=SimpleNamespace(cuda=cuda),
        cuda=SimpleNamespace(is_available=lambda: available, device_count=lambda: count),
    )


def test_cuda_without_a_device_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", _torch(False))
    with pytest.raises(EngineError, match=r"sees no CUDA device \(a CPU-only build\).*cpu or auto"):
        check_cuda("cuda")
    monkeypatch.setitem(sys.modules, "torch", _torch(False, cuda="12.8"))
    with pytest.raises(EngineError, match="CUDA 12.8 build, but no GPU or driver"):
        check_cuda("cuda:0")


def test_a_torch_engine_on_cuda_without_a_device_fails_before_loading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The model manager checks before the engine's load (which would fail deep inside torch)."""
    monkeypatch.setitem(sys.modules, "torch", _torch(False))
    loads: list[str] = []
    engine = SimpleNamespace(
        info=SimpleNamespace(uses_torch=True),
        model_id=lambda options: "m",
        load=lambda options: loads.append(options.device),
    )
    monkeypatch.setattr(models, "get_engine", lambda name: engine)
    with pytest.raises(EngineError, match="device 'cuda': torch 2.13.0\\+test sees no CUDA"):
        models.get_model("gpu-engine", EngineOptions.from_dict({"device": "cuda"}))
    assert loads == []
    engine.info.uses_torch = False  # not torch's to say (Piper's CUDA provider)
    models.get_model("gpu-engine", EngineOptions.from_dict({"device": "cuda"}))
    assert loads == ["cuda"]


def test_a_cuda_index_past_the_devices_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", _torch(True, count=1))
    check_cuda("cuda:0")
    with pytest.raises(EngineError, match="sees 1 CUDA device"):
        check_cuda("cuda:1")


def test_cuda_without_torch_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    with pytest.raises(EngineError, match="torch is not installed"):
        check_cuda("cuda")


def test_the_gpu_bench_stops_cleanly_without_cuda() -> None:
    try:
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has a CUDA device")
    except ImportError:
        pass
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "gpu_bench.py"), "--budget", "5"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("gpu_bench: device 'cuda':")
    assert len(proc.stderr.strip().splitlines()) == 1  # one line, no traceback
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["ok"] is False and "cuda" in result["error"].lower()
