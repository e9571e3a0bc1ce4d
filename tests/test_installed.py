"""The workflow ships in the wheel: the build copies exactly the checkout's workflow files
(ttsbuild/workflow/packaging.py), and the installed package finds them."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO
from ttsbuild.core.errors import TTSBuildError
from ttsbuild.workflow import installed
from ttsbuild.workflow.packaging import PACKAGED, copy_workflow, workflow_files

_INCLUDE = re.compile(r'^include:\s*"([^"]+)"', re.M)


def _included(snakefile: Path) -> list[Path]:
    """Every file the Snakefile includes, recursively, relative to its folder."""
    root = snakefile.parent
    found, todo = [], [snakefile]
    while todo:
        current = todo.pop()
        for name in _INCLUDE.findall(current.read_text("utf-8")):
            path = current.parent / name
            found.append(path.relative_to(root))
            todo.append(path)
    return found


def test_the_packaged_copy_holds_every_file_the_workflow_reads(tmp_path):
    copied = copy_workflow(REPO, tmp_path / "files")
    names = {p.as_posix() for p in copied}
    needed = ["Snakefile", *(p.as_posix() for p in _included(REPO / "Snakefile"))]
    needed += [p.relative_to(REPO).as_posix() for p in (REPO / "profiles").glob("*/config.yaml")]
    assert len(needed) >= 8
    for rel in needed:  # a rules file or profile the file list misses fails here
        assert rel in names, f"{rel} is read by the workflow but not packaged"
        assert (tmp_path / "files" / rel).read_bytes() == (REPO / rel).read_bytes()
    # A file removed from the checkout never lingers in the next build's copy.
    (tmp_path / "files" / "rules" / "gone.smk").write_text("# old\n")
    copy_workflow(REPO, tmp_path / "files")
    assert not (tmp_path / "files" / "rules" / "gone.smk").exists()


def test_an_sdist_carries_the_workflow_files():
    manifest = (REPO / "MANIFEST.in").read_text("utf-8")
    for line in ("include Snakefile", "recursive-include rules *.smk"):
        assert line in manifest
    assert "recursive-include profiles config.yaml" in manifest


def test_no_wheel_without_its_workflow(tmp_path):
    with pytest.raises(FileNotFoundError, match="no Snakefile and rules"):
        workflow_files(tmp_path)


def test_the_installed_package_finds_the_packaged_copy_first(tmp_path, monkeypatch):
    packaged = tmp_path / "ttsbuild" / PACKAGED
    copy_workflow(REPO, packaged)
    monkeypatch.setattr(installed, "PACKAGED", packaged)
    assert installed.workflow_dir() == packaged
    assert installed.snakefile() == str(packaged / "Snakefile")
    assert set(installed.profiles()) == {"ci", "default", "kubernetes", "slurm"}
    assert installed.example_script().read_bytes() == (REPO / "examples/episode01.txt").read_bytes()
    # An editable install (this checkout) reads the checkout itself.
    monkeypatch.setattr(installed, "PACKAGED", tmp_path / "nothing")
    assert installed.workflow_dir() == REPO
    monkeypatch.setattr(installed, "CHECKOUT", tmp_path / "nothing")
    with pytest.raises(TTSBuildError, match="workflow files are missing"):
        installed.workflow_dir()


@pytest.mark.slow
def test_the_built_wheel_holds_the_checkouts_workflow_byte_for_byte(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = tmp_path.glob("ttsbuild-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        prefix = f"ttsbuild/{PACKAGED}/"
        packaged = {
            n[len(prefix) :]: archive.read(n) for n in archive.namelist() if n.startswith(prefix)
        }
        assert "ttsbuild/cli/templates/ci/github.yml" in archive.namelist()
    expected = {p.as_posix() for p in workflow_files(REPO)}
    assert set(packaged) == expected
    for rel, data in packaged.items():
        assert data == (REPO / rel).read_bytes(), f"{rel} drifted from the checkout"
