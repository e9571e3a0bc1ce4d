"""The ``ttsbuild`` command line: inspect a project without rendering."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .config import DEFAULT_CONFIG_FILE, load_project
from .errors import TTSBuildError
from .plan import Planner
from .store import segment_path

log = logging.getLogger(__name__)


def cmd_check(args: argparse.Namespace) -> int:
    project = load_project(args.directory, args.config)
    planner = Planner(project)
    total = 0
    for name in project.episodes:
        plan = planner.plan_episode(name)
        total += len(plan.segments())
        sys.stdout.write(f"{name}: {len(plan.segments())} segments, ok\n")
    sys.stdout.write(f"project ok: {len(project.episodes)} episodes, {total} segments\n")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    project = load_project(args.directory, args.config)
    planner = Planner(project)
    names = args.episodes or list(project.episodes)
    for name in names:
        plan = planner.plan_episode(name)
        segments = plan.segments()
        missing = [s for s in segments if not segment_path(project.store, s.key).exists()]
        sys.stdout.write(
            f"{name}: {len(segments)} segments, {len(segments) - len(missing)} stored, "
            f"{len(missing)} to render\n"
        )
        for seg in segments:
            state = "render" if seg in missing else "stored"
            sys.stdout.write(
                f"  {state:6} {seg.key} {plan.source}:{seg.line} {seg.speaker}: {seg.text[:60]}\n"
            )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from . import server

    root = Path(args.directory).resolve()
    if args.stop:
        stopped = server.stop(root)
        sys.stdout.write("render server stopped\n" if stopped else "no render server running\n")
        return 0
    logging.getLogger("ttsbuild").setLevel(logging.INFO)
    server.serve(root, args.idle)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .htmlreport import render_report

    project = load_project(args.directory, args.config)
    output = Path(args.output) if args.output else project.root / "out" / "report.html"
    render_report(project.root, args.episodes or list(project.episodes), output)
    sys.stdout.write(f"{output}\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ttsbuild", description=__doc__)
    parser.add_argument("-C", "--directory", default=".", help="project directory")
    parser.add_argument("--config", default=DEFAULT_CONFIG_FILE, help="config file in the project")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="validate config, scripts and voices without rendering")
    p = sub.add_parser("plan", help="list each episode's segments and which will render")
    p.add_argument("episodes", nargs="*")
    p = sub.add_parser("report", help="write out/report.html: audio, timeline and timing tables")
    p.add_argument("episodes", nargs="*")
    p.add_argument("-o", "--output", help="where to write the page (default out/report.html)")
    p = sub.add_parser("serve", help="run a warm render server for this project (foreground)")
    p.add_argument("--idle", type=float, default=900.0, help="stop after this many idle seconds")
    p.add_argument("--stop", action="store_true", help="stop the running server")
    return parser


COMMANDS = {"check": cmd_check, "plan": cmd_plan, "serve": cmd_serve, "report": cmd_report}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, format="%(message)s")
    try:
        return COMMANDS[args.command](args)
    except TTSBuildError as exc:
        if args.debug or os.environ.get("TTSBUILD_DEBUG"):
            raise
        sys.stderr.write(f"ttsbuild: error: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
