"""planning/: a project and a script in, a frozen EpisodePlan out; the plan's own file form."""

from __future__ import annotations

import json

import pytest

from tests.conftest import FAKE_CONFIG, FAKE_SCRIPT, ProjectDir
from ttsbuild.config import load_project
from ttsbuild.planning.plan import EpisodePlan, Segment, Silence
from ttsbuild.planning.planner import Planner


@pytest.fixture
def planned(tmp_path, monkeypatch) -> EpisodePlan:
    monkeypatch.setenv("TTSBUILD_ENGINE_PLUGINS", "fake=tests.fake_engine:FakeEngine")
    project = ProjectDir(tmp_path / "show", tmp_path / "loads.txt")
    project.write("config/config.yaml", FAKE_CONFIG)
    project.write("scripts/ep1.txt", FAKE_SCRIPT)
    return Planner(load_project(project.path)).plan_episode("ep1")


def test_plan_round_trips_through_its_file_form(planned):
    again = EpisodePlan.from_dict(json.loads(json.dumps(planned.to_dict())))
    assert again == planned
    assert [type(i) for i in again.items] == [type(i) for i in planned.items]


def test_planner_resolves_aliases_narrator_and_pauses(planned):
    speakers = [i.speaker for i in planned.items if isinstance(i, Segment)]
    assert set(speakers) == {"narrator", "alice", "bob"}
    assert any(isinstance(i, Silence) for i in planned.items)
    # every segment's key is its request's key; no two segments of one plan share a request
    from ttsbuild.planning.key import segment_key

    for seg in planned.segments():
        assert seg.key == segment_key(seg.request)


def test_character_params_reach_the_request(planned):
    alice = next(i for i in planned.items if isinstance(i, Segment) and i.speaker == "alice")
    assert alice.request.param("speed") == pytest.approx(1.1)
