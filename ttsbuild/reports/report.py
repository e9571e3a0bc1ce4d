"""Machine-readable build reports: ``out/<episode>.report.json`` and ``out/build-report.json``.

Written at the end of every build, successful or not, from what the planner knew at the start
(which stage outputs were missing) and what the store holds now (rendered, failed with a reason).
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ttsbuild.core.fsutil import write_text_atomic
from ttsbuild.planning.plan import SYNTHESIZE, EpisodePlan
from ttsbuild.rendering.models import LOAD_COUNTS
from ttsbuild.rendering.pool import worker_report
from ttsbuild.store.segments import is_stored, read_failure, read_sidecar, segment_path


def stage_counts(
    plans: Iterable[EpisodePlan], store: Path, missing_at_start: set[str]
) -> dict[str, dict[str, int]]:
    """Work per stage over the distinct outputs of ``plans``: ``ran`` (missing at the start,
    stored now), ``reused`` (stored at the start, or not needed because a later stage's output
    was), ``failed`` (missing at the start and still missing).

    >>> stage_counts([], Path("."), set())
    {'synthesize': {'ran': 0, 'reused': 0, 'failed': 0}}
    """
    seen: set[str] = set()
    counts: dict[str, dict[str, int]] = {SYNTHESIZE: {"ran": 0, "reused": 0, "failed": 0}}
    for plan in plans:
        for seg in plan.segments():
            for kind, key in seg.chain():
                if key in seen:
                    continue
                seen.add(key)
                entry = counts.setdefault(kind, {"ran": 0, "reused": 0, "failed": 0})
                if key not in missing_at_start:
                    entry["reused"] += 1
                elif is_stored(store, key):
                    entry["ran"] += 1
                else:
                    entry["failed"] += 1
    return counts


def _episode_outputs(
    plan: EpisodePlan, out_dir: Path
) -> tuple[Path, float | None, list[Any], dict[str, Any] | None]:
    """What the episode's outputs say: its wav, duration and timing problems (subtitle cues
    cut, over-stretched or late: docs/timing.md), and the voice assets' change report."""
    wav = out_dir / f"{plan.episode}.wav"
    timing = out_dir / f"{plan.episode}.timing.json"
    duration = None
    problems: list[Any] = []
    if timing.exists():
        try:
            assembled = json.loads(timing.read_text("utf-8"))
            duration = assembled.get("duration")
            problems = list(assembled.get("problems") or [])
        except ValueError:
            duration = None
    assets = None  # the voice assets' change report, when they were built
    changes = out_dir / f"{plan.episode}.assets-changes.json"
    if changes.exists() and (out_dir / f"{plan.episode}.assets.json").exists():
        with contextlib.suppress(ValueError):
            assets = json.loads(changes.read_text("utf-8"))
    return wav, duration, problems, assets


def episode_report(
    plan: EpisodePlan,
    store: Path,
    missing_at_start: set[str],
    out_dir: Path,
    qa_enabled: bool = False,
) -> dict[str, Any]:
    """One episode's report. Sidecars are read only where needed (segments rendered now, and
    every segment when QA is on), so a no-op build of a long episode stays cheap."""
    segments = plan.segments()
    rendered, failed, pending = [], [], []
    engine_seconds = 0.0
    qa_checked = qa_retried = 0
    qa_flagged: list[dict[str, Any]] = []
    environments: dict[str, dict[str, Any]] = {}  # engine -> the runtime that rendered it now
    for seg in segments:
        present = is_stored(store, seg.key)
        wanted = present and (qa_enabled or seg.key in missing_at_start)
        side = read_sidecar(store, seg.key) if wanted else None
        if side is not None and side.qa is not None:
            verdict = side.qa
            qa_checked += 1
            qa_retried += int(verdict.get("attempts", 1) > 1)
            if verdict.get("flagged"):
                qa_flagged.append(
                    {
                        "key": seg.key,
                        "where": f"{plan.source}:{seg.line}",
                        "uid": seg.uid,
                        "wer": verdict.get("wer"),
                        "transcript": verdict.get("transcript"),
                    }
                )
        if seg.key not in missing_at_start:
            continue
        if present:
            rendered.append(seg.key)
            engine_seconds += side.render_seconds if side is not None else 0.0
            if side is not None and side.environment is not None:
                environments.setdefault(side.request.engine, dict(side.environment))
            continue
        reason = read_failure(store, seg.key)
        entry = {
            "key": seg.key,
            "where": f"{plan.source}:{seg.line}",
            "speaker": seg.speaker,
            "text": seg.text,
            "uid": seg.uid,
        }
        if reason is not None:
            failed.append({**entry, "reason": reason})
        else:
            pending.append(entry)
    wav, duration, problems, assets = _episode_outputs(plan, out_dir)
    return {
        "episode": plan.episode,
        "source": plan.source,
        "segments_total": len(segments),
        "rendered_now": len(rendered),
        "reused": len(segments) - len(missing_at_start & {s.key for s in segments}),
        "failed": failed,
        "not_rendered": pending,
        "engine_seconds": round(engine_seconds, 3),
        "environments": environments,
        "audio": str(wav) if wav.exists() else None,
        "duration": duration,
        "timing_problems": problems,
        "language_warnings": list(plan.extra.get("language_warnings") or []),
        "chunk_warnings": list(plan.extra.get("chunk_warnings") or []),  # cut inside a word
        "qa": {"checked": qa_checked, "retried": qa_retried, "flagged": qa_flagged},
        "stages": stage_counts([plan], store, missing_at_start),
        "assets": assets,
        "ok": not failed and not pending,
    }


def write_reports(
    plans: Mapping[str, EpisodePlan],
    store: Path,
    missing_at_start: set[str],
    out_dir: Path,
    success: bool,
    started: float,
    qa_enabled: bool = False,
    interrupted: bool = False,
    targets: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Every built episode's report and the summary. ``targets``: the episodes this
    invocation's targets needed (default: all), summarized apart from the project's total."""
    episodes: dict[str, dict[str, Any]] = {}
    not_built: list[str] = []
    for name, plan in plans.items():
        report = episode_report(plan, store, missing_at_start, out_dir, qa_enabled)
        if (
            report["audio"] is None
            and report["assets"] is None
            and not report["rendered_now"]
            and not report["failed"]
        ):
            not_built.append(name)  # not a target of this build, and never built
            continue
        episodes[name] = report
        write_text_atomic(out_dir / f"{name}.report.json", json.dumps(report, indent=1) + "\n")
    summary = {
        "success": success and not interrupted,
        "interrupted": interrupted,
        "wall_seconds": round(time.time() - started, 3),
        "segments_total": sum(r["segments_total"] for r in episodes.values()),
        "rendered_now": len(
            {k for k in missing_at_start if segment_path(store, k).exists()}
            & {s.key for n in episodes for s in plans[n].segments()}
        ),
        "failed": sum(len(r["failed"]) for r in episodes.values()),
        "qa_flagged": sum(len(r["qa"]["flagged"]) for r in episodes.values()),
        "language_warnings": sum(len(r["language_warnings"]) for r in episodes.values()),
        "stages": stage_counts([plans[n] for n in episodes], store, missing_at_start),
        "episodes": {
            n: {k: r[k] for k in ("ok", "segments_total", "rendered_now", "reused", "audio")}
            for n, r in episodes.items()
        },
        "not_built": not_built,
        "targets": target_summary(
            plans, list(plans) if targets is None else list(targets), store, missing_at_start
        ),
        "project": {
            "episodes": len(plans),
            "segments_total": len({s.key for p in plans.values() for s in p.segments()}),
        },
        "environments": {
            engine: env for r in episodes.values() for engine, env in r["environments"].items()
        },
        # engines with a runtime render in workers: this process never imports torch for them
        "main_process": {"python": sys.executable, "torch_imported": "torch" in sys.modules},
        # models loaded per engine: by this build's process, and by each render worker (engines
        # that prefer several instances; the render server and runtimes load in their own)
        "model_loads": {
            "main_process": dict(sorted(LOAD_COUNTS.items())),
            "render_workers": worker_report(),
        },
    }
    write_text_atomic(out_dir / "build-report.json", json.dumps(summary, indent=1) + "\n")
    return summary


def target_summary(
    plans: Mapping[str, EpisodePlan], names: list[str], store: Path, missing_at_start: set[str]
) -> dict[str, Any]:
    """What the named episodes needed: their distinct segments, how many were rendered now,
    reused from the store and failed, and the work per stage.

    >>> target_summary({}, [], Path("."), set())["segments_total"]
    0
    """
    chosen = [plans[n] for n in names if n in plans]
    keys = {s.key for plan in chosen for s in plan.segments()}
    missing = keys & missing_at_start
    rendered = {k for k in missing if segment_path(store, k).exists()}
    return {
        "episodes": [p.episode for p in chosen],
        "segments_total": len(keys),
        "rendered_now": len(rendered),
        "reused": len(keys) - len(missing),
        "failed": len(missing) - len(rendered),
        "stages": stage_counts(chosen, store, missing_at_start),
    }
