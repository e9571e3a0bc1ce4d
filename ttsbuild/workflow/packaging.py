"""Build hook: the workflow ships in the wheel.

The checkout's top level holds the one copy of the workflow (``Snakefile``, ``rules/*.smk``,
``profiles/<name>/config.yaml``) and the example script ``ttsbuild init`` starts a project
with. Building a wheel (``pip wheel .``, ``python -m build``) copies exactly these files into
``ttsbuild/workflow/files/`` inside the package (``pyproject.toml``: ``[tool.setuptools.cmdclass]``);
an editable install copies nothing and :mod:`ttsbuild.workflow.installed` finds them in the
checkout. Nobody edits the packaged copy, so the two cannot drift; ``tests/test_installed.py``
checks that this file list carries everything the Snakefile includes.

setuptools loads this file on its own at build time: it imports nothing of ttsbuild, and
nothing of ttsbuild imports it at run time (setuptools is a build dependency only).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools.command.build_py import build_py as _build_py

#: Where the packaged copy goes, relative to the package (ttsbuild/workflow/installed.py).
PACKAGED = "workflow/files"

#: The workflow's files, as globs relative to the checkout's top level.
WORKFLOW_FILES = ("Snakefile", "rules/*.smk", "profiles/*/config.yaml", "examples/episode01.txt")


def workflow_files(root: Path) -> list[Path]:
    """The workflow's files under ``root`` (relative paths, sorted); a missing Snakefile or
    rule file is an error: a wheel without its workflow must not be built."""
    found = sorted({p.relative_to(root) for pattern in WORKFLOW_FILES for p in root.glob(pattern)})
    names = {p.as_posix() for p in found}
    if "Snakefile" not in names or not any(n.startswith("rules/") for n in names):
        raise FileNotFoundError(
            f"{root}: no Snakefile and rules/ to package (an sdist needs MANIFEST.in's lines)"
        )
    return found


def copy_workflow(root: Path, dest: Path) -> list[Path]:
    """Replace ``dest`` with a fresh copy of the workflow's files under ``root``: a file
    removed from the checkout never lingers in a later build."""
    files = workflow_files(root)
    if dest.exists():
        shutil.rmtree(dest)
    for rel in files:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / rel, dest / rel)
    return files


class BuildPy(_build_py):
    """setuptools' build_py, then the workflow's files into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout itself
        root = Path(self.distribution.src_root or Path.cwd())
        copy_workflow(root, Path(self.build_lib) / "ttsbuild" / PACKAGED)
