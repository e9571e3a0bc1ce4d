"""Scene breaks in a plan: a pause (and a sound) at each scene heading, transition, section
and act, as the episode's ``breaks:`` says (docs/sources.md).

The parsers put a :class:`ttsbuild.sources.script.Pause` with a ``kind`` where an element
breaks the episode; here each becomes a :class:`Silence` holding its sound (resolved and
content-hashed, so the clip cache prepares it once, like a segment), and then:

* a run of breaks with nothing spoken between them (``CUT TO:`` then ``INT. YARD``) is one
  break: the longest pause, the sound of the last element of the run that has one;
* a break before the first or after the last speech keeps its sound but not its pause (an
  episode does not open or end on seconds of silence; ``output.padding_ms`` is there for it).

Imports: core, config, planning.plan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ttsbuild.config.project import Project
from ttsbuild.core.content import content_hash
from ttsbuild.core.files import MAX_VOICE_BYTES
from ttsbuild.planning.plan import PlanItem, Segment, Silence


def break_silence(project: Project, episode: str, line: int, ms: float, kind: str) -> list[Silence]:
    """The silence of one break, with the sound its ``breaks.<kind>.sound`` names, if any;
    nothing for a break of 0 ms without a sound (the ordinary gap stays)."""
    entry = (project.episodes[episode].options.get("breaks") or {}).get(kind) or {}
    sound = entry.get("sound")
    if not sound:
        return [Silence(line, ms, kind=kind)] if ms > 0 else []
    key = f"episodes.{episode}.breaks.{kind}.sound"
    label = f"episode '{episode}': the {kind} sound"
    path = project.regular_file(str(sound), "sound", key, label, MAX_VOICE_BYTES)
    return [Silence(line, ms, kind=kind, sound=str(path), sound_hash=content_hash(path))]


def merge_breaks(items: Sequence[PlanItem]) -> list[PlanItem]:
    """Runs of breaks made one, and no pause at the ends (see the module docstring).

    >>> s = Segment.__new__(Segment)
    >>> out = merge_breaks([Silence(1, 1500, kind="scene_headings"), s,
    ...     Silence(5, 1000, kind="transitions"), Silence(7, 1500, kind="scene_headings"), s,
    ...     Silence(9, 1000, kind="transitions")])
    >>> [(i.line, i.milliseconds, i.kind) for i in out if isinstance(i, Silence)]
    [(1, 0.0, 'scene_headings'), (5, 1500, 'transitions'), (9, 0.0, 'transitions')]
    """
    out: list[PlanItem] = []
    for item in items:
        last = out[-1] if out else None
        if isinstance(item, Silence) and item.kind and isinstance(last, Silence) and last.kind:
            keep = item if item.sound else last
            out[-1] = dataclasses.replace(
                last,
                milliseconds=max(last.milliseconds, item.milliseconds),
                sound=keep.sound,
                sound_hash=keep.sound_hash,
            )
            continue
        out.append(item)
    spoken = [i for i, item in enumerate(out) if isinstance(item, Segment)]
    if not spoken:
        return out
    first, last_spoken = spoken[0], spoken[-1]
    for i, item in enumerate(out):
        if isinstance(item, Silence) and item.kind and (i < first or i > last_spoken):
            out[i] = dataclasses.replace(item, milliseconds=0.0)
    return out
