"""The installed workflow: the Snakefile, rules and profiles that ship with the package.

A project uses it through Snakemake's own ``include:`` (what ``ttsbuild init`` writes):

.. code-block:: python

    import ttsbuild.workflow.installed

    include: ttsbuild.workflow.installed.snakefile()

The files are the checkout's top-level ``Snakefile``, ``rules/`` and ``profiles/``, copied into
``ttsbuild/workflow/files/`` when a wheel is built (:mod:`ttsbuild.workflow.packaging`); in an
editable install (the checkout's own ``.venv``) they are read from the checkout.

Imports: core only (a project's Snakefile imports this before anything else).
"""

from __future__ import annotations

from pathlib import Path

from ttsbuild.core.errors import TTSBuildError

_PACKAGE = Path(__file__).resolve().parents[1]
#: The packaged copy (a wheel install): ttsbuild.workflow.packaging.PACKAGED.
PACKAGED = _PACKAGE / "workflow" / "files"
#: The checkout an editable install runs from.
CHECKOUT = _PACKAGE.parent


def _complete(folder: Path) -> bool:
    return (folder / "Snakefile").is_file() and (folder / "rules").is_dir()


def workflow_dir() -> Path:
    """The folder holding the workflow's ``Snakefile``, ``rules/`` and ``profiles/``."""
    for folder in (PACKAGED, CHECKOUT):
        if _complete(folder):
            return folder
    raise TTSBuildError(
        f"ttsbuild's workflow files are missing from this installation ({PACKAGED}); "
        "reinstall ttsbuild from a wheel or sdist (pip install --force-reinstall ttsbuild)"
    )


def snakefile() -> str:
    """The installed workflow's Snakefile, for a project's ``include:``."""
    return str(workflow_dir() / "Snakefile")


def profiles() -> dict[str, Path]:
    """The workflow's profiles by name (``default``, ``ci``, ``slurm``...): each folder holds a
    Snakemake ``config.yaml``."""
    root = workflow_dir() / "profiles"
    return {p.parent.name: p.parent for p in sorted(root.glob("*/config.yaml"))}


def example_script() -> Path:
    """The example episode a new project starts with (``ttsbuild init``)."""
    return workflow_dir() / "examples" / "episode01.txt"
