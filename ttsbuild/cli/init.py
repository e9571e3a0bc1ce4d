"""``ttsbuild init DIR``: a new project that builds with the installed workflow.

Writes the project's ``Snakefile`` (an ``include:`` of the installed workflow), a commented
``config/config.yaml``, an example script, the workflow's profiles (Snakemake finds a workflow
profile by name only next to the Snakefile or in the current directory), ``requirements.txt``,
``.gitignore`` and, with ``--ci github|gitlab``, the CI job. It never overwrites a file: if any
of them exists, nothing is written and the command fails naming them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
from importlib import metadata
from pathlib import Path

from ttsbuild.core.errors import ConfigError
from ttsbuild.core.fsutil import atomic_path
from ttsbuild.workflow import installed

TEMPLATES = Path(__file__).resolve().parent / "templates"

#: ``--ci`` choice -> (template, where the CI system reads the job from)
CI_JOBS = {
    "github": ("ci/github.yml", ".github/workflows/ttsbuild.yml"),
    "gitlab": ("ci/gitlab.yml", ".gitlab-ci.yml"),
}


def ci_job(name: str) -> str:
    """The CI job file ``init --ci NAME`` writes (docs/ci.md shows the same text)."""
    return (TEMPLATES / CI_JOBS[name][0]).read_text("utf-8")


def _version() -> str:
    try:
        return metadata.version("ttsbuild")
    except metadata.PackageNotFoundError:  # run from a checkout without an install
        return "0.1.0"


def project_files(ci: list[str]) -> dict[str, str]:
    """What ``init`` writes: relative path -> text."""
    files = {
        "Snakefile": (TEMPLATES / "Snakefile").read_text("utf-8"),
        "config/config.yaml": (TEMPLATES / "config.yaml").read_text("utf-8"),
        "scripts/episode01.txt": installed.example_script().read_text("utf-8"),
        "requirements.txt": (TEMPLATES / "requirements.txt")
        .read_text("utf-8")
        .replace("{version}", _version()),
        ".gitignore": (TEMPLATES / "gitignore").read_text("utf-8"),
    }
    for name, folder in installed.profiles().items():
        files[f"profiles/{name}/config.yaml"] = (folder / "config.yaml").read_text("utf-8")
    for name in ci:
        files[CI_JOBS[name][1]] = ci_job(name)
    return files


def init_project(directory: Path, ci: list[str]) -> list[str]:
    """Write a new project into ``directory`` (created if needed); returns the files written.
    Raises :class:`ConfigError`, writing nothing, if any of them exists already (a symlink
    counts, even a dangling one) or a folder it needs is a file."""
    files = project_files(ci)
    _check_folders(directory, files)
    existing = sorted(rel for rel in files if os.path.lexists(directory / rel))
    if existing:
        raise ConfigError(
            f"{directory}: not overwriting {', '.join(existing)}; nothing written (remove them, "
            "or init into another folder)"
        )
    written: list[Path] = []
    try:
        for rel, text in files.items():
            _create(directory / rel, text, directory)
            written.append(directory / rel)
    except (OSError, ConfigError) as exc:
        for path in written:  # nothing written: take back what this init wrote
            path.unlink(missing_ok=True)
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(
            f"{directory}: cannot write the project: {exc}; nothing written"
        ) from None
    return list(files)


def _check_folders(directory: Path, files: dict[str, str]) -> None:
    """Every folder the project needs is a folder or missing (not a file in the way)."""
    folders = {directory} | {(directory / rel).parent for rel in files}
    for folder in sorted(folders):
        for path in (folder, *folder.parents):
            if os.path.lexists(path) and not path.is_dir():
                raise ConfigError(
                    f"{path}: is a file, not a folder, and the project needs a folder there; "
                    "nothing written (move it, or init into another folder)"
                )


def _create(dest: Path, text: str, directory: Path) -> None:
    """Write ``dest`` whole (temp file, then a hard link: an existing file is never replaced,
    not even one created since the check above)."""
    with atomic_path(dest.with_name(f".{dest.name}.init")) as tmp:
        tmp.write_text(text, encoding="utf-8")
    staged = dest.with_name(f".{dest.name}.init")
    try:
        os.link(staged, dest)
    except FileExistsError:
        raise ConfigError(f"{directory}: not overwriting {dest}, created meanwhile") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            staged.unlink()


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser(
        "init",
        help="write a new project (Snakefile, config, example script, profiles, CI job)",
        parents=[common],
    )
    p.add_argument("dir", help="the project folder (created if missing; no file is overwritten)")
    p.add_argument(
        "--ci",
        action="append",
        choices=sorted(CI_JOBS),
        default=[],
        help="also write the CI job (github: .github/workflows/ttsbuild.yml, gitlab: "
        ".gitlab-ci.yml); repeatable",
    )


def cmd_init(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    written = init_project(directory, list(dict.fromkeys(args.ci)))
    for rel in written:
        sys.stdout.write(f"wrote {directory / rel}\n")
    sys.stdout.write(
        f"next: cd {shlex.quote(str(directory))} && snakemake -j1 out/episode01.wav   (Piper: pip install "
        "'ttsbuild[piper]'; validate without rendering: ttsbuild check)\n"
    )
    return 0
