"""``ttsbuild verify`` and ``ttsbuild gc``: look after the segment store."""

from __future__ import annotations

import argparse
from pathlib import Path

from ttsbuild.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    _plans,
    _project,
    _size,
    _store_is_shared,
    out,
    warn,
)
from ttsbuild.cli.deep import run as run_deep
from ttsbuild.config import load_project
from ttsbuild.core.errors import ConfigError
from ttsbuild.core.fsutil import blocking_file
from ttsbuild.reports.variants import current_segments, variant_of
from ttsbuild.store.maintenance import plan_gc, run_gc, verify_store
from ttsbuild.store.segments import read_sidecar, stored_keys


def cmd_verify(args: argparse.Namespace) -> int:
    if args.store and args.deep is not None:
        raise ConfigError("verify --deep derives the project's own outputs: leave out --store")
    store = Path(args.store) if args.store else _project(args).store
    blocker = blocking_file(store)
    if blocker is not None:
        raise ConfigError(f"--store {store}: {blocker} is a file, not a folder")
    if not store.is_dir():
        out(f"{store}: no store yet (nothing rendered)")
        return EXIT_OK
    report = verify_store(store, delete=args.delete)
    for p in report.problems:
        kind = "corrupt" if p.corrupt else "note"
        gone = " (removed)" if p.path in report.removed else ""
        out(f"{kind}: {p.path}: {p.message}{gone}")
    corrupt = len(report.corrupt)
    out(
        f"{report.checked} segments checked in {store}: {corrupt} corrupt, "
        f"{len(report.problems) - corrupt} notes, {len(report.removed)} files removed"
    )
    if corrupt and not args.delete:
        out(
            "run 'ttsbuild verify --delete' to remove the corrupt segments; the next build "
            "renders them again"
        )
        if args.deep is None:
            return EXIT_ERROR
    left = [p for p in report.corrupt if p.path.exists()]  # e.g. locked by a running build
    corrupt_keys = {p.key for p in report.corrupt if p.key is not None}
    differs = args.deep is not None and run_deep(args, _project(args), corrupt_keys)
    return EXIT_ERROR if left or differs else EXIT_OK


def cmd_gc(args: argparse.Namespace) -> int:
    project = _project(args)
    plans = _plans(project)
    referenced = {k for plan in plans.values() for k in plan.stage_keys()}
    for other in args.project:
        other_project = load_project(other, args.config)
        if other_project.store.resolve() != project.store.resolve():
            warn(f"{other}: its store {other_project.store} is not {project.store}; ignored")
            continue
        referenced |= {k for plan in _plans(other_project).values() for k in plan.stage_keys()}
    if _store_is_shared(project):
        warn(
            f"the store {project.store} is outside this project and may be shared: segments "
            "only other projects use count as unreferenced (name those projects with "
            "--project DIR to keep theirs)"
        )
    plan = plan_gc(project.store, referenced)
    if plan.empty:
        out(f"nothing to remove: {len(stored_keys(project.store))} stored segments, all referenced")
        return EXIT_OK
    current = current_segments(plans, project.store)
    for key in plan.segments:
        side = read_sidecar(project.store, key)
        origin = ""
        if side is not None:
            variant = variant_of(side, current)
            origin = f" (from {side.where} {side.speaker}: {side.request.text[:40]!r}{variant})"
        out(f"unreferenced: {key}{origin}")
    for key in plan.orphan_sidecars:
        out(f"sidecar without audio: {key}")
    for tmp in plan.temps:
        out(f"temporary file: {tmp.name}")
    out(
        f"{len(plan.segments)} unreferenced segments, {len(plan.orphan_sidecars)} stray sidecars, "
        f"{len(plan.temps)} temp files, {len(plan.stale_locks)} lock files ({_size(plan.bytes)}); "
        f"{plan.referenced} segments referenced by {project.root}"
    )
    if not args.yes:
        out("dry run: nothing deleted; run 'ttsbuild gc --yes' to delete")
        return EXIT_OK
    removed, skipped = run_gc(plan)
    out(
        f"removed {removed}" + (f", skipped {skipped} in use by a running build" if skipped else "")
    )
    return EXIT_OK
