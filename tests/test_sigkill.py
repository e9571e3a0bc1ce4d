"""A real build killed with SIGKILL at random points loses nothing and resumes exactly."""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
import soundfile as sf

from tests.conftest import SNAKEFILE, SNAKEMAKE, rendered_count

# End-to-end: real Snakemake builds (run by .ci/run with `pytest -m slow`).
pytestmark = pytest.mark.slow

N = 10
SCRIPT = "\n".join(
    f"[{('alice', 'bob', 'narrator')[i % 3]}] This is line number {i} of the story."
    for i in range(N)
)
RENDER_SECONDS = 0.15


def _store(project) -> Path:
    return project.path / "build" / "segments"


def _wavs(project) -> list[Path]:
    store = _store(project)
    if not store.is_dir():
        return []
    # Finished segments only: pathlib's glob also matches the dot-prefixed temp files that a
    # kill during a write leaves behind.
    return sorted(p for p in store.glob("*.wav") if not p.name.startswith("."))


def _wait_for(condition, limit: float = 60) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def _assembly_started(project) -> bool:
    marker = base64.b64encode(b"out/ep1.wav").decode()
    return (project.path / ".snakemake" / "incomplete" / marker).exists()


def _check_nothing_partial(project, reference: bytes) -> None:
    """Every file under a final name is complete: segments decode and match their sidecar."""
    store = _store(project)
    for path in store.iterdir() if store.is_dir() else []:
        if path.name.startswith(".") or path.is_dir():
            continue  # temp files are dot-prefixed; .locks is a directory
        if path.suffix == ".wav":
            data, _ = sf.read(str(path))
            side = json.loads(path.with_suffix(".json").read_text())  # written before the wav
            assert len(data) == side["samples"], path
        else:
            assert path.suffix == ".json", path
            json.loads(path.read_text())
    out = project.path / "out"
    if (out / "ep1.wav").exists():
        assert (out / "ep1.wav").read_bytes() == reference
    for name in ("ep1.srt", "ep1.timing.json"):
        if (out / name).exists():
            assert (out / name).stat().st_size > 0


def test_sigkill_at_random_points_then_resume(make_project, tmp_path):
    seed = int(os.environ.get("TTSBUILD_TEST_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    env_extra = {"TTSBUILD_FAKE_RENDER_SECONDS": str(RENDER_SECONDS)}

    clean = make_project(name="clean", script=SCRIPT + "\n")
    done = clean.snakemake("-j1", "out/ep1.wav", **env_extra)
    assert done.returncode == 0, done.output
    reference = (clean.path / "out/ep1.wav").read_bytes()

    project = make_project(name="killed", script=SCRIPT + "\n")
    renders = tmp_path / "renders.txt"
    env = project.env(TTSBUILD_FAKE_RENDERS=str(renders), **env_extra)
    cmd = [*SNAKEMAKE, "-s", str(SNAKEFILE), "-d", str(project.path), "-j1", "out/ep1.wav"]
    # Kill points: while parsing, after k segments (mid-render), and during assembly.
    points = [
        ("parse", None),
        ("render", rng.randint(1, 3)),
        ("render", rng.randint(4, 6)),
        ("render", rng.randint(7, N - 1)),
        ("assemble", None),
    ]
    kills = 0
    history: list[str] = []  # what each run did, for failure messages
    for number, (phase, wanted) in enumerate(points):
        # At least one new segment in this run, so the kill lands while it renders.
        count = max(wanted or 0, len(_wavs(project)) + 1)
        log_file = tmp_path / f"run{number}.log"
        with open(log_file, "w") as log:
            proc = subprocess.Popen(
                cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        if phase == "parse":
            time.sleep(rng.uniform(0.2, 1.0))
        elif phase == "render":
            _wait_for(lambda p=proc, k=count: len(_wavs(project)) >= k or p.poll() is not None)
            time.sleep(rng.uniform(0, RENDER_SECONDS))
        else:
            _wait_for(lambda p=proc: _assembly_started(project) or p.poll() is not None)
            time.sleep(rng.uniform(0, 0.05))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the whole process group
            kills += 1
        proc.wait(timeout=60)
        history.append(f"{phase}: exit {proc.returncode}, {len(_wavs(project))} stored")
        if proc.returncode not in (0, -signal.SIGKILL):
            history.append(log_file.read_text()[-2000:])
        _check_nothing_partial(project, reference)
    seed = f"{seed} {history}"
    assert kills >= 4, f"seed {seed}: the build finished before it could be killed"

    missing = N - len(_wavs(project))
    resumed = project.snakemake("-j1", "out/ep1.wav", **env_extra)
    assert resumed.returncode == 0, f"seed {seed}: {resumed.output}"
    assert rendered_count(resumed) == missing, f"seed {seed}"
    assert (project.path / "out/ep1.wav").read_bytes() == reference, f"seed {seed}"
    assert (project.path / "out/ep1.srt").read_bytes() == (clean.path / "out/ep1.srt").read_bytes()
    assert project.segments() == clean.segments()
    # Only a render in flight at a kill is ever repeated; no finished segment is redone.
    total = len(renders.read_text().splitlines()) + rendered_count(resumed)
    assert N <= total <= N + kills, f"seed {seed}: {total} renders"
