"""Two builds in two project directories sharing one segment store, at the same time."""

from __future__ import annotations

import subprocess
import time
from collections import Counter

import pytest

from tests.conftest import SNAKEFILE, SNAKEMAKE

# End-to-end: real Snakemake builds (run by .ci/run with `pytest -m slow`).
pytestmark = pytest.mark.slow

LINES = "\n".join(f"[{'alice' if i % 2 else 'bob'}] Shared line number {i}." for i in range(40))


def _lines(path):
    return path.read_text().splitlines() if path.exists() else []


def _wait_for_lines(path, count, limit=60.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if len(_lines(path)) >= count:
            return True
        time.sleep(0.05)
    return False


def _start(project, store, renders, render_seconds="0.05"):
    cmd = [*SNAKEMAKE, "-s", str(SNAKEFILE), "-d", str(project.path), "-j1", "out/ep1.wav"]
    env = project.env(
        TTSBUILD_STORE=str(store),
        TTSBUILD_FAKE_RENDERS=str(renders),
        TTSBUILD_FAKE_RENDER_SECONDS=render_seconds,
    )
    return subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_two_builds_share_one_store(make_project, tmp_path):
    store = tmp_path / "shared-store"
    renders = tmp_path / "renders.txt"
    a = make_project(name="a", script=LINES + "\n")
    b = make_project(name="b", script=LINES + "\n[Alice] Only in b.\n")
    first = _start(a, store, renders)
    # Start the second build while the first is rendering: segments the first one finishes
    # between the second one's planning and its render job must survive (Snakemake deletes
    # a job's existing outputs before running it unless they are flagged update()).
    assert _wait_for_lines(renders, 1)
    procs = [first, _start(b, store, renders)]
    outs = [p.communicate(timeout=240)[0] for p in procs]
    for proc, out in zip(procs, outs):
        assert proc.returncode == 0, out
    counts = Counter(line.split(" ", 1)[1] for line in _lines(renders))
    assert len(counts) == 41 and max(counts.values()) == 1, counts  # nothing rendered twice
    # Both builds really overlapped: each rendered some of the shared segments.
    pids = {line.split(" ", 1)[0] for line in _lines(renders)}
    assert len(pids) == 2, renders.read_text()

    # Sequential builds with private stores give byte-identical episodes.
    seq_a = make_project(name="seq_a", script=LINES + "\n")
    seq_b = make_project(name="seq_b", script=LINES + "\n[Alice] Only in b.\n")
    for concurrent, sequential in ((a, seq_a), (b, seq_b)):
        assert sequential.snakemake("-j1", "out/ep1.wav").returncode == 0
        for suffix in (".wav", ".srt"):
            got = (concurrent.path / f"out/ep1{suffix}").read_bytes()
            assert got == (sequential.path / f"out/ep1{suffix}").read_bytes()
    assert sorted(p.name for p in store.glob("*.wav")) == sorted(
        set(seq_a.segments()) | set(seq_b.segments())
    )
    assert not [p for p in store.iterdir() if p.name.startswith(".") and p.is_file()]


def test_second_build_in_the_same_project_is_refused_with_a_hint(make_project, tmp_path):
    shared = "\n".join(f"[alice] Common line {i}." for i in range(6))
    project = make_project(script=shared + "\n")
    project.write("scripts/ep2.txt", shared + "\n[Bob] Only in episode two.\n")
    config = (project.path / "config/config.yaml").read_text()
    project.write("config/config.yaml", config + "  ep2: {source: scripts/ep2.txt}\n")
    renders = tmp_path / "renders.txt"
    first = _start(project, project.path / "build/segments", renders, render_seconds="1.0")
    assert _wait_for_lines(renders, 1)  # rendering: about 5 s still to go
    second = project.snakemake("-j1", "out/ep2.wav")
    out = first.communicate(timeout=240)[0]
    assert first.returncode == 0, out  # the running build is not disturbed
    assert second.returncode != 0
    assert "another build of this project is running" in second.output
    assert "do not use --unlock" in second.output
    again = project.snakemake("-j1", "out/ep2.wav")  # once it is done, ep2 builds
    assert again.returncode == 0, again.output
    assert "rendered 1 of 1 segments" in again.output
