"""Voice assets at plan time (pure): the plan's lines, one per line id, and their file names,
checked before any render (collisions, ids too long, paths other targets write).

Imports: core, config, planning, delivery.asset_changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ttsbuild.config.settings import ASSET_FORMATS, AssetSettings
from ttsbuild.core.errors import AssetError
from ttsbuild.delivery.asset_changes import asset_stems
from ttsbuild.planning.plan import EpisodePlan, Segment


@dataclass(frozen=True)
class Line:
    """One spoken unit: its segments in order (a long line is several chunks)."""

    uid: str
    segments: tuple[Segment, ...]


def plan_lines(plan: EpisodePlan) -> list[Line]:
    """The plan's spoken lines in order, one per uid (never merged by segment key)."""
    return [Line(uid, segments) for uid, segments in plan.lines()]


def asset_names(plan: EpisodePlan, settings: AssetSettings) -> dict[str, str]:
    """Each spoken line's file name (suffix included), by uid; collisions and ids too long
    are :class:`AssetError` naming the lines (``source:line``)."""
    lines = plan_lines(plan)
    where = {ln.uid: f"{plan.source}:{ln.segments[0].line}" for ln in lines}
    fields = {
        ln.uid: {
            "episode": plan.episode,
            "character": ln.segments[0].speaker,
            "line": ln.segments[0].line,
        }
        for ln in lines
    }
    stems = asset_stems(
        [ln.uid for ln in lines], settings.name, settings.strip_prefix, where, fields
    )
    suffix = ASSET_FORMATS[settings.format][2]
    return {uid: f"{stem}{suffix}" for uid, stem in stems.items()}


def check_asset_plans(
    plans: dict[str, EpisodePlan], settings: AssetSettings, folders: dict[str, Path], out: Path
) -> None:
    """At plan time, before any render: every episode's file names are valid and unique, no
    two episodes sharing a folder claim one file, and no file claims a path another target
    writes (``out/<episode>.*``, ``out/build-report.*``)."""
    taken: dict[tuple[Path, str], str] = {}
    reserved = [f"{name}." for name in plans] + ["build-report."]
    out = out.resolve()
    for episode, plan in plans.items():
        folder = folders[episode].resolve()
        rows = {ln.uid: ln.segments[0].line for ln in plan_lines(plan)}
        for uid, name in asset_names(plan, settings).items():
            here = f"{plan.source}:{rows[uid]}"
            if folder == out and any(name.startswith(r) for r in reserved):
                raise AssetError(
                    f"{here}: line id {uid!r} would be written to {out.name}/{name}, a file "
                    "the build writes for an episode; set assets.folder to a folder of its own "
                    "(the default is out/{episode})"
                )
            other = taken.setdefault((folder, name.casefold()), f"{here} (episode {episode})")
            if not other.endswith(f"(episode {episode})"):
                raise AssetError(
                    f"{here}: line id {uid!r} of episode {episode} and the line at {other} "
                    f"would both be written to {folder / name}; give them different ids or "
                    "use assets.folder with {episode}"
                )
