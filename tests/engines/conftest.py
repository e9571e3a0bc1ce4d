"""Engine tests: the real Chatterbox and F5-TTS classes with random weights, offline.

Every test under tests/engines carries the ``engines`` marker: the default ``pytest`` run skips
them (``-m 'not engines'`` in pyproject), CI runs them in a separate step after
``.ci/install-engines.sh`` with ``pytest -m engines``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engines import checkpoints
from ttsbuild.engines import EngineOptions, get_engine

HERE = Path(__file__).parent

#: Small but real generation settings: random weights never stop, so cap the tokens.
CHATTERBOX_TEST_PARAMS = {"max_new_tokens": 30, "cfm_steps": 2}
F5_TEST_PARAMS = {"nfe_step": 4}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.engines)


def _needs(module: str) -> None:
    pytest.importorskip(module, reason=f"{module} not installed: run .ci/install-engines.sh")


@pytest.fixture(scope="session")
def chatterbox_en_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _needs("chatterbox")
    return checkpoints.build_chatterbox(tmp_path_factory.mktemp("chatterbox-en"), False)


@pytest.fixture(scope="session")
def chatterbox_mtl_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _needs("chatterbox")
    return checkpoints.build_chatterbox(tmp_path_factory.mktemp("chatterbox-mtl"), True)


@pytest.fixture(scope="session")
def f5_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _needs("f5_tts")
    return checkpoints.build_f5(tmp_path_factory.mktemp("f5"))


@pytest.fixture(scope="session")
def f5_nan_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _needs("f5_tts")
    return checkpoints.build_f5(tmp_path_factory.mktemp("f5-nan"), nan=True)


@pytest.fixture(scope="session")
def voices(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("voices")
    return {
        "a": checkpoints.write_voice(base / "a.wav", 170),
        "b": checkpoints.write_voice(base / "b.flac", 240, rate=16000),
        "c": checkpoints.write_voice(base / "c.wav", 130, rate=44100, channels=2),
    }


# Loaded models, shared by the Chatterbox tests of one module (module scope frees them).
@pytest.fixture(scope="module")
def en_model(chatterbox_en_dir: Path):
    return get_engine("chatterbox").load(
        EngineOptions.from_dict({"device": "cpu", "checkpoint_dir": str(chatterbox_en_dir)})
    )


@pytest.fixture(scope="module")
def mtl_model(chatterbox_mtl_dir: Path):
    engine = get_engine("chatterbox-multilingual")
    return engine.load(
        EngineOptions.from_dict({"device": "cpu", "checkpoint_dir": str(chatterbox_mtl_dir)})
    )
