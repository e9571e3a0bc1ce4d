"""The ``ttsbuild`` command: check, plan, explain, verify, gc, report, serve.

May import: every stage (top of the pipeline, like :mod:`ttsbuild.workflow`).
"""

from ttsbuild.cli.commands import main

__all__ = ["main"]
