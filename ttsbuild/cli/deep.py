"""``ttsbuild verify --deep [N]``: derive N stored outputs (or all) again and name every engine
or stage that is not bit-deterministic on this machine (docs/cli.md)."""

from __future__ import annotations

import argparse
import random
import sys

from ttsbuild.config import Project
from ttsbuild.planning.planner import Planner
from ttsbuild.rendering.deep import choose, deep_verify
from ttsbuild.store.segments import stored_keys

ALL = 0  # --deep without N


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--deep",
        nargs="?",
        type=int,
        const=ALL,
        metavar="N",
        help="also derive N stored outputs of this project's episodes again (default: all) "
        "and compare bytes: names every engine or stage that is not deterministic here",
    )
    parser.add_argument(
        "--seed", type=int, help="--deep N: the seed of the sample (default: a new one)"
    )


def out(line: str) -> None:
    sys.stdout.write(line + "\n")


def run(args: argparse.Namespace, project: Project, corrupt: set[str]) -> int:
    """Returns 0 when every output derived again is byte-identical, else 1."""
    planner = Planner(project)
    referenced = {k for name in project.episodes for k in planner.plan_episode(name).stage_keys()}
    candidates = (referenced & stored_keys(project.store)) - corrupt
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    sample = None if args.deep in (None, ALL) else max(1, args.deep)
    keys = choose(candidates, sample, random.Random(seed))
    report = deep_verify(project.store, keys, project.engines, project.runtimes, corrupt)
    for r in report.results:
        if r.skipped:
            out(f"note: {r.key} ({r.what}, {r.where}): {r.detail}")
    bad = report.nondeterministic()
    for what, results in sorted(bad.items()):
        first = results[0]
        out(
            f"not deterministic: {what}: {len(results)} of "
            f"{sum(r.what == what for r in report.checked)} outputs derived again differ "
            f"(e.g. {first.key} {first.where}: {first.detail})"
        )
    shown = f", sample seed {seed}" if sample is not None else ""
    out(
        f"verify --deep: {len(report.checked)} of {len(candidates)} stored outputs derived "
        f"again{shown}: {len(report.checked) - sum(map(len, bad.values()))} identical, "
        f"{len(bad)} engines or stages not deterministic"
    )
    return 1 if bad else 0
