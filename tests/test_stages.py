"""The segment pipeline as cached stages: synthesis, then post stages (pitch and effects), each
output keyed on its input. Planning in-process; real Snakemake builds marked slow."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from tests.test_effects import high_band_share
from ttsbuild.config.project import load_project
from ttsbuild.core.audio import Audio
from ttsbuild.planning.plan import EpisodePlan, Segment
from ttsbuild.planning.planner import Planner

CONFIG = """\
engine: fake
characters:
  narrator: {}
  alice: {params: {pitch: 2}}
  bob: {effects: [telephone]}
aliases: {al: alice}
episodes:
  ep1: {source: scripts/ep1.txt}
"""

SCRIPT = """\
The narrator opens the scene.
[Alice] Hello Bob.
[Bob] Hello Alice.
[Al] How are you today?
[Bob] Very well, thank you.
[Bob|effects:radio+small_room] This one comes over the radio.
"""


@pytest.fixture(autouse=True)
def fake_engine(monkeypatch):
    monkeypatch.setenv("TTSBUILD_ENGINE_PLUGINS", "fake=tests.fake_engine:FakeEngine")


def plan_of(project) -> EpisodePlan:
    return Planner(load_project(project.path)).plan_episode("ep1")


def by_line(plan: EpisodePlan) -> dict[int, Segment]:
    return {s.line: s for s in plan.segments()}


def test_pitch_and_effects_are_post_stages_not_synthesis(make_project):
    segs = by_line(plan_of(make_project(config=CONFIG, script=SCRIPT)))
    narrator, alice, bob, radio = segs[1], segs[2], segs[3], segs[6]
    assert narrator.post == () and narrator.key == narrator.chain()[0][1]
    assert "pitch" not in dict(alice.request.params)
    assert [e.type for e in alice.post[0].stage.effects] == ["pitch_shift"]
    assert [k for k, _ in bob.chain()] == ["synthesize", "effects"]
    assert bob.key == bob.post[-1].key != bob.synthesis_key
    types = [e.type for e in radio.post[0].stage.effects]
    assert types[-1] == "reverb" and "distortion" not in types  # the line's own chain
    assert Segment.from_dict(json.loads(json.dumps(bob.to_dict()))) == bob


def test_changing_pitch_or_effects_keeps_every_synthesis_key(make_project):
    project = make_project(config=CONFIG, script=SCRIPT)
    before = by_line(plan_of(project))
    project.write(
        "config/config.yaml",
        CONFIG.replace("pitch: 2", "pitch: 3").replace("[telephone]", "[megaphone]"),
    )
    after = by_line(plan_of(project))
    assert {n: s.synthesis_key or s.key for n, s in before.items()} == {
        n: s.synthesis_key or s.key for n, s in after.items()
    }
    changed = {n for n in before if before[n].key != after[n].key}
    assert changed == {2, 3, 4, 5}  # alice's two lines, bob's two with his own chain


@pytest.mark.parametrize(
    ("config", "script", "message"),
    [
        (
            CONFIG.replace("[telephone]", "[telefone]"),
            SCRIPT,
            "config/config.yaml:5: characters.bob.effects: unknown effect preset 'telefone'",
        ),
        (
            CONFIG.replace("[telephone]", "[{type: lowpass, cutoff_hz: 5}]"),
            SCRIPT,
            "config/config.yaml:5: characters.bob.effects: effect 'lowpass': cutoff_hz = 5 is "
            "out of range",
        ),
        (
            CONFIG,
            SCRIPT + "[Bob|effects:telefone] Hi.\n",
            "scripts/ep1.txt:7: unknown effect preset 'telefone'",
        ),
        (CONFIG, SCRIPT + "[Bob|effects:Tele phone] Hi.\n", "scripts/ep1.txt:7: bad effects"),
    ],
)
def test_bad_effects_are_one_located_error(make_project, config, script, message):
    result = make_project(config=config, script=script).plan_in_process()
    assert result.returncode == 1
    assert message in result.stderr, result.stderr


def synthesized(path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def report(project) -> dict:
    return json.loads((project.path / "out/build-report.json").read_text())


@pytest.mark.slow
def test_post_stage_changes_run_zero_synthesis(make_project, tmp_path):
    project = make_project(config=CONFIG, script=SCRIPT)
    renders = tmp_path / "renders.txt"
    env = {"TTSBUILD_FAKE_RENDERS": str(renders), "TTSBUILD_FAKE_NOISE": "0.05"}
    first = project.snakemake("-j1", "out/ep1.wav", **env)
    assert first.returncode == 0, first.output
    assert len(synthesized(renders)) == 6
    assert report(project)["stages"] == {
        "synthesize": {"ran": 6, "reused": 0, "failed": 0},
        "effects": {"ran": 5, "reused": 0, "failed": 0},
    }

    # The telephone character has almost no energy above 4 kHz; the narrator does.
    plan = by_line(
        EpisodePlan.from_dict(json.loads((project.path / "build/plans/ep1.json").read_text()))
    )
    store = project.path / "build/segments"

    def share(key: str) -> float:
        data, rate = sf.read(str(store / f"{key}.wav"), dtype="float32")
        return high_band_share(Audio(np.asarray(data), rate))

    narrator, phone = share(plan[1].key), share(plan[3].key)
    assert narrator > 0.01 and phone < narrator / 50, (narrator, phone)
    assert share(plan[3].synthesis_key) > 0.01  # the engine's output is kept as it was

    # Pitch: explain names the stage; the build runs zero synthesis, only alice's effects.
    project.write("config/config.yaml", CONFIG.replace("pitch: 2", "pitch: 3"))
    explain = project.ttsbuild("explain")
    assert explain.returncode == 0, explain.output
    assert "only the effects stage will run" in explain.stdout
    assert "changed effect pitch_shift semitones: 2 -> 3" in explain.stdout
    second = project.snakemake("-j1", "out/ep1.wav", **env)
    assert second.returncode == 0, second.output
    assert len(synthesized(renders)) == 6
    # the console says the engine did not run (new-user trial: it said "1 rendered now" only)
    assert "(0 synthesized, " in second.output and "(ran: effects " in second.output
    assert report(project)["stages"] == {
        "synthesize": {"ran": 0, "reused": 6, "failed": 0},
        "effects": {"ran": 2, "reused": 3, "failed": 0},
    }

    # An effect chain: the same, for bob's two telephone lines only.
    project.write(
        "config/config.yaml", CONFIG.replace("pitch: 2", "pitch: 3").replace("telephone", "radio")
    )
    third = project.snakemake("-j1", "out/ep1.wav", **env)
    assert third.returncode == 0, third.output
    assert len(synthesized(renders)) == 6
    assert report(project)["stages"]["effects"] == {"ran": 2, "reused": 3, "failed": 0}

    # gc keeps every synthesis output (referenced through the chains) and lists the old
    # effects outputs; verify knows stage outputs (their sidecars match).
    gc = project.ttsbuild("gc")
    assert gc.returncode == 0, gc.output
    assert gc.stdout.count("unreferenced: ") == 4, gc.stdout
    for seg in plan.values():
        assert (seg.synthesis_key or seg.key) not in gc.stdout
    verify = project.ttsbuild("verify")
    assert verify.returncode == 0 and "0 corrupt, 0 notes" in verify.stdout, verify.output


PLUGINS = "fake=tests.fake_engine:FakeEngine,fakevc=tests.fake_engine:FakeConverter"
VC_CONFIG = """\
engine: fake
characters:
  narrator: {}
  alice: {convert: {engine: fakevc, voice: voices/target.wav}, effects: [small_room]}
  bob: {}
aliases: {al: alice}
episodes:
  ep1: {source: scripts/ep1.txt}
"""


def write_target(path, freq: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(16000) / 16000
    sf.write(str(path), (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), 16000)


def test_a_converter_must_be_one(make_project):
    config = VC_CONFIG.replace("engine: fakevc", "engine: fake")
    project = make_project(config=config, script=SCRIPT)
    write_target(project.path / "voices/target.wav", 300)
    result = project.plan_in_process()
    assert result.returncode == 1
    assert (
        "config/config.yaml:4: characters.alice.convert: engine 'fake' is not a voice converter"
        in result.stderr
    )


@pytest.mark.slow
def test_conversion_is_keyed_on_the_reference_content_not_its_path(make_project, tmp_path):
    project = make_project(config=VC_CONFIG, script=SCRIPT)
    write_target(project.path / "voices/target.wav", 300)
    renders = tmp_path / "renders.txt"
    env = {"TTSBUILD_FAKE_RENDERS": str(renders), "TTSBUILD_ENGINE_PLUGINS": PLUGINS}
    first = project.snakemake("-j1", "out/ep1.wav", **env)
    assert first.returncode == 0, first.output
    assert report(project)["stages"] == {
        "synthesize": {"ran": 6, "reused": 0, "failed": 0},
        "convert": {"ran": 2, "reused": 0, "failed": 0},
        "effects": {"ran": 3, "reused": 0, "failed": 0},  # alice's two, bob's radio line
    }
    assert len(synthesized(renders)) == 8  # six texts, two conversions

    # The same clip elsewhere: the same keys, nothing runs.
    (project.path / "voices/target.wav").rename(project.path / "voices/moved.wav")
    project.write("config/config.yaml", VC_CONFIG.replace("target.wav", "moved.wav"))
    moved = project.snakemake("-j1", "out/ep1.wav", **env)
    assert moved.returncode == 0, moved.output
    assert len(synthesized(renders)) == 8

    # Other content at that path: conversion and the effects after it run, synthesis never.
    write_target(project.path / "voices/moved.wav", 500)
    explain = project.ttsbuild("explain", TTSBUILD_ENGINE_PLUGINS=PLUGINS)
    assert "only the convert stage and after it effects will run" in explain.stdout, explain.output
    assert "changed conversion target voice" in explain.stdout
    changed = project.snakemake("-j1", "out/ep1.wav", **env)
    assert changed.returncode == 0, changed.output
    assert all("convert:" in line for line in synthesized(renders)[8:])
    assert len(synthesized(renders)) == 10
    assert report(project)["stages"] == {
        "synthesize": {"ran": 0, "reused": 6, "failed": 0},
        "convert": {"ran": 2, "reused": 0, "failed": 0},
        "effects": {"ran": 2, "reused": 1, "failed": 0},
    }
