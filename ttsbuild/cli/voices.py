"""``ttsbuild voices``: the voices a project can use, one line each, checked."""

from __future__ import annotations

from collections.abc import Callable

from ttsbuild.config import Project
from ttsbuild.reports.voices import project_voices


def list_voices(project: Project, out: Callable[[str], None]) -> int:
    """Print every voice with its check; returns how many have a problem."""
    entries = project_voices(project)
    for e in entries:
        users = f"used by {', '.join(e.used_by)}" if e.used_by else "not used"
        if e.problem:
            out(f"  error  {e.engine:9} {e.reference}: {e.problem} ({users})")
        else:
            out(f"  ok     {e.engine:9} {e.reference}: {e.detail} ({users})")
    problems = sum(1 for e in entries if e.problem)
    out(f"{len(entries)} voices, {problems} with problems")
    return problems
