"""Scale-out through a real executor plugin: cluster-generic with a local submit script."""

from __future__ import annotations

import pytest

from tests.conftest import FAKE_CONFIG, REPO

# End-to-end: real Snakemake builds (run by .ci/run with `pytest -m slow`).
pytestmark = pytest.mark.slow

pytest.importorskip("snakemake_executor_plugin_cluster_generic")

SUBMIT = REPO / "tests" / "data" / "cluster" / "submit.sh"


def test_cluster_jobs_render_batches_with_one_load_each(make_project, tmp_path):
    script = "".join(f"[{'alice' if i % 2 else 'bob'}] Cluster line {i}.\n" for i in range(10))
    config = FAKE_CONFIG.replace(
        "engine: fake\n",
        "engine: fake\nbatch_size: 4\n"
        "engines:\n  fake:\n    resources: {mem_mb: 1200, runtime: 7, gpu: 1, gpu_model: a100}\n",
    )
    project = make_project(config, script, name="cluster")
    local = make_project(
        FAKE_CONFIG.replace("engine: fake\n", "engine: fake\nbatch_size: 4\n"), script, name="local"
    )
    assert local.snakemake("-j1", "out/ep1.wav").returncode == 0

    submitted = tmp_path / "submitted.txt"
    result = project.snakemake(
        "-j4",
        "--executor",
        "cluster-generic",
        "--cluster-generic-submit-cmd",
        f"{SUBMIT} --mem={{resources.mem_mb}} --time={{resources.runtime}} "
        f"--gpu={{resources.gpu}} --gpu-model={{resources.gpu_model}}",
        "--latency-wait",
        "30",
        "out/ep1.wav",
        TTSBUILD_SUBMIT_LOG=str(submitted),
    )
    assert result.returncode == 0, result.output
    submissions = submitted.read_text().splitlines()
    assert len(submissions) == 3  # 10 segments in batches of 4: 3 cluster jobs
    assert all(s == "--mem=1200 --time=7 --gpu=1 --gpu-model=a100" for s in submissions)
    pids = project.loads_file.read_text().split()
    assert len(pids) == 3 and len(set(pids)) == 3  # one load per cluster job, each its own process
    assert project.segments() == local.segments()
    assert (project.path / "out/ep1.wav").read_bytes() == (local.path / "out/ep1.wav").read_bytes()


def test_dry_run_shows_resources_per_engine(make_project):
    config = FAKE_CONFIG + "engines:\n  fake:\n    resources: {mem_mb: 3000}\n"
    project = make_project(config)
    # --quiet host: the per-job details that profiles/default leaves out (docs/scaling.md)
    dry = project.snakemake("-n", "-j1", "out/ep1.wav", "--quiet", "host")
    assert dry.returncode == 0, dry.output
    assert "mem_mb=3000" in dry.output
