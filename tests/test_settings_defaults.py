"""The engine device default comes from the schema, whether an engine has an entry or not."""

from __future__ import annotations

from pathlib import Path

import pytest

from ttsbuild.config.project import load_project
from ttsbuild.config.settings import EngineOptions

CONFIG = """\
engine: fake
characters: {narrator: {}}
episodes: {ep1: {source: scripts/ep1.txt}}
"""


@pytest.mark.parametrize(
    "engines",
    ["", "engines: {fake: {}}\n", "engines: {fake: {model: big}}\n"],
    ids=["no-entry", "empty-entry", "entry-without-device"],
)
def test_engine_device_defaults_to_auto(tmp_path: Path, engines: str):
    (tmp_path / "config").mkdir()
    (tmp_path / "config/config.yaml").write_text(CONFIG + engines, encoding="utf-8")
    project = load_project(tmp_path)
    assert project.engine_options("fake").device == "auto"
    assert project.engine_options("piper").device == "auto"  # never configured at all


def test_engine_options_without_any_entry_take_the_schema_default():
    assert EngineOptions.from_dict({}).device == "auto"
    assert EngineOptions.from_dict(None).device == "auto"
    assert EngineOptions.from_dict({"device": "cuda:1"}).device == "cuda:1"
