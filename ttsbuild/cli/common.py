"""What every ``ttsbuild`` command shares: output, the project, its plans, exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ttsbuild.config import Project, load_project
from ttsbuild.core.errors import ConfigError
from ttsbuild.planning.plan import EpisodePlan
from ttsbuild.planning.planner import Planner

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def out(line: str = "") -> None:
    """The command's report goes to stdout (warnings and errors go to stderr)."""
    sys.stdout.write(line + "\n")


def warn(line: str) -> None:
    sys.stderr.write(f"ttsbuild: warning: {line}\n")


def _project(args: argparse.Namespace) -> Project:
    root = Path(args.directory)
    if root.is_dir() and not (root / args.config).exists():
        raise ConfigError(
            f"no ttsbuild project here: {args.config} not found in {root.resolve()}; run "
            "inside a project or name its directory with -C DIR (before or after the command)"
        )
    return load_project(args.directory, args.config)


def _plans(project: Project, names: Sequence[str] | None = None) -> dict[str, EpisodePlan]:
    planner = Planner(project)
    chosen = list(names) if names else list(project.episodes)
    return {name: planner.plan_episode(name) for name in chosen}


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def _store_is_shared(project: Project) -> bool:
    root = project.root.resolve()
    store = project.store.resolve()
    return bool(os.environ.get("TTSBUILD_STORE")) or not (store == root or root in store.parents)
