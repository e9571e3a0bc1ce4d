"""One key, one content: every stage reads exactly the stored bytes of its input key, whatever
the history (rendered in this build, read from the store, re-derived after ``verify --delete``).

In-process through the render loop every path uses (build, render server, cluster job, runtime
worker all call :func:`ttsbuild.rendering.render.render_jobs`); the full Snakemake case is in
tests/test_incremental.py.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from ttsbuild.config.project import load_project
from ttsbuild.planning.planner import Planner
from ttsbuild.rendering.batch import RenderJob
from ttsbuild.rendering.render import render_jobs
from ttsbuild.store.maintenance import verify_store
from ttsbuild.store.segments import get_segment, put_segment, segment_path, sidecar_path

CONFIG = """\
engine: fake
characters:
  narrator: {}
  alice: {params: {pitch: 2.0}}
  bob: {effects: [telephone]}
episodes:
  ep1: {source: scripts/ep1.txt}
"""

SCRIPT = """\
The narrator opens the scene.
[Alice] Hello Bob, how are you today?
[Bob] Very well, thank you, and you?
"""


@pytest.fixture(autouse=True)
def fake_engine(monkeypatch):
    monkeypatch.setenv("TTSBUILD_ENGINE_PLUGINS", "fake=tests.fake_engine:FakeEngine")
    monkeypatch.setenv("TTSBUILD_FAKE_NOISE", "0.05")  # energy in every bit of every sample


def jobs_of(root: Path) -> tuple[list[RenderJob], Path]:
    project = load_project(root)
    plan = Planner(project).plan_episode("ep1")
    jobs = [
        RenderJob(s.chain()[0][1], s.request, f"ep1:{s.line}", s.speaker, s.post)
        for s in plan.segments()
    ]
    return jobs, project.store


def render(root: Path) -> tuple[list[RenderJob], Path]:
    jobs, store = jobs_of(root)
    render_jobs(jobs, store, load_project(root).engines)
    return jobs, store


def post_jobs(jobs: list[RenderJob]) -> list[RenderJob]:
    chained = [j for j in jobs if j.post]
    assert len(chained) == 2  # alice's pitch, bob's telephone
    return chained


def test_a_post_stage_output_is_the_same_whether_its_input_was_just_rendered_or_stored(
    make_project,
):
    """The pitch 2.0 -> 3.0 case: a build at 2.0 leaves the syntheses stored; at 3.0 the pitch
    stage then reads them from the store. A clean build at 3.0 renders synthesis and pitch in
    one go. Both must give the same bytes under the same key."""
    old = make_project(config=CONFIG, script=SCRIPT, name="old")
    render(old.path)
    old.write("config/config.yaml", CONFIG.replace("pitch: 2.0", "pitch: 3.0"))
    jobs, store = render(old.path)
    clean = make_project(config=CONFIG.replace("pitch: 2.0", "pitch: 3.0"), script=SCRIPT)
    clean_jobs, clean_store = render(clean.path)
    assert [j.keys for j in jobs] == [j.keys for j in clean_jobs]
    for job in post_jobs(jobs):
        for key in job.keys:
            a = segment_path(store, key).read_bytes()
            assert a == segment_path(clean_store, key).read_bytes(), (job.where, key)


def test_verify_delete_of_a_post_stage_output_re_derives_the_same_bytes(make_project):
    project = make_project(config=CONFIG, script=SCRIPT)
    jobs, store = render(project.path)
    before = {k: segment_path(store, k).read_bytes() for j in jobs for k in j.keys}
    for job in post_jobs(jobs):  # corrupt the post-stage output; verify --delete removes it
        path = segment_path(store, job.final_key)
        data = bytearray(path.read_bytes())
        data[-100] ^= 0xFF
        path.write_bytes(bytes(data))
    report = verify_store(store, delete=True)
    assert len(report.corrupt) == 2
    assert not any(segment_path(store, j.final_key).exists() for j in post_jobs(jobs))
    render_jobs(jobs, store, load_project(project.path).engines)
    after = {k: segment_path(store, k).read_bytes() for j in jobs for k in j.keys}
    assert after == before


def test_resume_with_only_the_synthesis_stored_gives_the_same_chain(make_project, tmp_path):
    """A kill -9 between a synthesis and its post stage leaves only the synthesis stored."""
    project = make_project(config=CONFIG, script=SCRIPT)
    jobs, store = render(project.path)
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    for job in jobs:
        for path in (segment_path(store, job.key), sidecar_path(store, job.key)):
            shutil.copy(path, resumed / path.name)
    render_jobs(jobs, resumed, load_project(project.path).engines)
    for job in jobs:
        assert segment_path(resumed, job.final_key).read_bytes() == (
            segment_path(store, job.final_key).read_bytes()
        )


def test_put_segment_returns_the_content_a_later_read_sees(make_project, tmp_path):
    import numpy as np

    from ttsbuild.core.audio import Audio
    from ttsbuild.store.segments import Sidecar

    jobs, _ = jobs_of(make_project(config=CONFIG, script=SCRIPT).path)
    rng = np.random.default_rng(1)
    audio = Audio((0.4 * rng.standard_normal(4000)).astype(np.float32), 16000)
    side = Sidecar(jobs[0].key, jobs[0].request, "x", "narrator", 0.0, 0, 0)
    stored = put_segment(tmp_path, side, audio)
    assert not np.array_equal(stored.samples, audio.samples)  # 24-bit PCM quantizes
    assert np.array_equal(stored.samples, get_segment(tmp_path, jobs[0].key).samples)


PACKAGE = Path(__file__).resolve().parents[1] / "ttsbuild"


def names_used(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names
    }


def test_only_the_store_encodes_segments_and_rendering_reads_them_through_it():
    """The mechanism, not a special case: a stage's input comes from put_segment/get_segment,
    never from its own encode or file read (the bug of issue 22 was a second path)."""
    for path in PACKAGE.rglob("*.py"):
        used = names_used(path)
        rel = path.relative_to(PACKAGE).as_posix()
        if rel not in ("core/audio.py", "store/segments.py"):
            assert "encode_wav" not in used, rel
        if rel.startswith("rendering/"):
            assert "read_audio" not in used and "decode_audio_bytes" not in used, rel
