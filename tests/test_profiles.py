"""The profiles work as docs/ci.md shows them, from a project outside the checkout."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

from tests.conftest import REPO, SNAKEFILE, Result, rendered_count


def _ci_command() -> list[str]:
    """The snakemake step of the CI job docs/ci.md shows (`ttsbuild init --ci github`'s), with
    this test project's episode as its target and this checkout's Snakefile named (a project
    made by init includes the installed workflow instead: tests/test_init.py)."""
    from ttsbuild.cli.init import ci_job

    line = next(ln for ln in ci_job("github").splitlines() if "run: snakemake " in ln)
    words = shlex.split(line.split("run: ", 1)[1])
    options = [w for w in words[1:] if not w.startswith("out/")]
    return [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), *options, "out/ep1.wav"]


def test_ci_profile_from_a_project_outside_the_checkout(make_project):
    project = make_project()
    command = _ci_command()
    assert "--workflow-profile" in command
    run = subprocess.run(
        command, cwd=project.path, env=project.env(), capture_output=True, text=True, timeout=300
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert f"workflow specific profile {REPO / 'profiles' / 'ci'}" in output
    assert "profiles/default" not in output  # the CI profile is not overridden key by key
    cores = re.search(r"Provided cores: (\d+)", output)
    assert cores is not None and int(cores.group(1)) == os.cpu_count(), output  # cores: all
    assert (
        rendered_count(Result(run.returncode, run.stdout, run.stderr)) == 6
        and (project.path / "out/ep1.wav").exists()
    )


def test_every_profile_is_found_by_name_from_any_directory(make_project):
    project = make_project()
    for name in ("default", "ci", "slurm", "kubernetes"):
        assert (REPO / "profiles" / name / "config.yaml").is_file()
    # The default profile is picked up next to the Snakefile too (README's "Your own project").
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "-n"],
        cwd=project.path,
        env=project.env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"workflow specific profile {REPO / 'profiles' / 'default'}" in run.stdout + run.stderr
