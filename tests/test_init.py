"""``ttsbuild init``: a working project, never an overwritten file, and the CI jobs the docs
show (docs/ci.md and docs/assets.md carry init's job files verbatim)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from ttsbuild.cli import main
from ttsbuild.cli.init import CI_JOBS, ci_job
from ttsbuild.workflow import installed


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # the project finds ttsbuild as installed, not via the checkout
    env.pop("TTSBUILD_STORE", None)
    return env


def test_init_writes_a_project(tmp_path, capsys):
    assert main(["init", str(tmp_path / "show"), "--ci", "github", "--ci", "gitlab"]) == 0
    show = tmp_path / "show"
    files = sorted(p.relative_to(show).as_posix() for p in show.rglob("*") if p.is_file())
    assert files == [
        ".github/workflows/ttsbuild.yml",
        ".gitignore",
        ".gitlab-ci.yml",
        "Snakefile",
        "config/config.yaml",
        "profiles/ci/config.yaml",
        "profiles/default/config.yaml",
        "profiles/kubernetes/config.yaml",
        "profiles/slurm/config.yaml",
        "requirements.txt",
        "scripts/episode01.txt",
    ]
    assert "include: ttsbuild.workflow.snakefile()" in (show / "Snakefile").read_text()
    for name, folder in installed.profiles().items():
        assert (show / "profiles" / name / "config.yaml").read_bytes() == (
            folder / "config.yaml"
        ).read_bytes()
    ignored = (show / ".gitignore").read_text().split()
    assert {"build/", "out/", "logs/", ".snakemake/"} <= set(ignored)
    assert "ttsbuild[piper]==" in (show / "requirements.txt").read_text()
    assert (show / ".gitlab-ci.yml").read_text() == ci_job("gitlab")
    assert "wrote " in capsys.readouterr().out
    # The config is valid and plans the example: 16 segments.
    assert main(["-C", str(show), "check"]) == 0
    assert "16 segments" in capsys.readouterr().out


def test_init_never_overwrites_a_file(tmp_path, capsys):
    show = tmp_path / "show"
    (show / "config").mkdir(parents=True)
    (show / "config" / "config.yaml").write_text("mine\n")
    assert main(["init", str(show)]) == 1
    err = capsys.readouterr().err
    assert "not overwriting config/config.yaml" in err and "nothing written" in err
    assert (show / "config" / "config.yaml").read_text() == "mine\n"
    assert sorted(p.name for p in show.rglob("*")) == ["config", "config.yaml"]
    # A second init into a finished project refuses too, and leaves every file as it was.
    assert main(["init", str(tmp_path / "b")]) == 0
    before = {p: p.read_bytes() for p in (tmp_path / "b").rglob("*") if p.is_file()}
    assert main(["init", str(tmp_path / "b"), "--ci", "github"]) == 1
    after = {p: p.read_bytes() for p in (tmp_path / "b").rglob("*") if p.is_file()}
    assert after == before


def test_init_refuses_a_dangling_symlink_and_writes_nothing(tmp_path, capsys):
    """A symlink in the way (even one pointing nowhere) is an existing file: refused before
    anything is written, and nothing is created through it (attack-c)."""
    show = tmp_path / "show"
    (show / "config").mkdir(parents=True)
    outside = tmp_path / "outside.yaml"
    (show / "config" / "config.yaml").symlink_to(outside)
    assert main(["init", str(show)]) == 1
    err = capsys.readouterr().err
    assert "not overwriting config/config.yaml" in err and "nothing written" in err
    assert not outside.exists()
    assert sorted(p.name for p in show.rglob("*")) == ["config", "config.yaml"]


@pytest.mark.parametrize("blocker", [".", "config", "profiles/ci"])
def test_init_where_a_folder_is_a_file_is_one_clear_line(tmp_path, capsys, blocker):
    show = tmp_path / "show"
    target = show / blocker
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("mine\n")
    assert main(["init", str(show)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ttsbuild: error: ") and "is a file, not a folder" in err, err
    assert "internal error" not in err and err.count("\n") == 1
    assert target.read_text() == "mine\n"
    assert [p for p in show.rglob("*") if p.is_file()] in ([target], [])


def test_init_hint_quotes_a_folder_with_spaces(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["init", "my shöw ☃"]) == 0
    assert "next: cd 'my shöw ☃' && snakemake" in capsys.readouterr().out
    assert (tmp_path / "my shöw ☃" / "Snakefile").is_file()


@pytest.mark.parametrize("doc", ["docs/ci.md", "docs/assets.md"])
@pytest.mark.parametrize("ci", sorted(CI_JOBS))
def test_the_docs_show_the_ci_jobs_init_writes(doc, ci):
    """What `.ci/wheel-project.sh` runs is what the docs show: init's files, verbatim."""
    text = (REPO / doc).read_text("utf-8")
    assert f"```yaml\n{ci_job(ci)}```" in text, f"{doc} does not show `init --ci {ci}`'s job"


def test_an_initialised_project_plans_with_the_installed_workflow(tmp_path):
    """`snakemake -n` in the project: its Snakefile includes the installed workflow, and the
    default profile comes from the project's profiles/ (no path into a checkout given)."""
    assert main(["init", str(tmp_path / "show")]) == 0
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "out/episode01.wav"],
        cwd=tmp_path / "show",
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "workflow specific profile profiles/default" in output
    assert "render_" in output and "assemble" in output


@pytest.mark.slow
def test_an_initialised_project_builds_with_piper(tmp_path):
    """The README's build command in a new project: the example episode, with Piper."""
    show = tmp_path / "show"
    assert main(["init", str(show)]) == 0
    command = [sys.executable, "-m", "snakemake", "-j1", "out/episode01.wav"]
    run = subprocess.run(command, cwd=show, env=_env(), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((show / "out/build-report.json").read_text())
    assert report["rendered_now"] == 16 and (show / "out/episode01.wav").stat().st_size > 100_000
    again = subprocess.run(
        command, cwd=show, env=_env(), capture_output=True, text=True, timeout=600
    )
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
    assert Path(show / "build/segments").is_dir()


def test_init_that_fails_half_way_takes_back_what_it_wrote(tmp_path, capsys, monkeypatch):
    """A write that fails (a read-only folder, a full disk) is one line, and the files this
    init already wrote are removed: 'nothing written' holds (attack-c)."""
    real_link, calls = os.link, []

    def link(src, dst):
        calls.append(dst)
        if len(calls) == 3:
            raise PermissionError(13, "Permission denied", str(dst))
        real_link(src, dst)

    monkeypatch.setattr(os, "link", link)
    assert main(["init", str(tmp_path / "show")]) == 1
    err = capsys.readouterr().err
    assert (
        "cannot write the project" in err
        and "Permission denied" in err
        and "nothing written" in err
    )
    assert [p for p in (tmp_path / "show").rglob("*") if p.is_file()] == []
