"""Who speaks in an episode: every speaker with its line count, and a ``characters:`` block.

Used by ``ttsbuild cast EPISODE``; reads the source only (no engine, no voice is loaded).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import yaml

from ttsbuild.config import Project
from ttsbuild.core.errors import ConfigError
from ttsbuild.core.text import normalize_text
from ttsbuild.planning.sources import episode_items
from ttsbuild.sources.script import NARRATOR, ScriptItem, Utterance

if TYPE_CHECKING:
    from ttsbuild.planning.planner import Planner


@dataclass(frozen=True)
class CastEntry:
    speaker: str  # as the source names it, normalized
    speeches: int
    character: str | None  # the config character it maps to (through aliases), or None


def episode_cast(project: Project, episode: str) -> tuple[str, list[CastEntry]]:
    """``(source, entries)``: speakers in order of first appearance, with speech counts."""
    from ttsbuild.planning.planner import Planner

    if episode not in project.episodes:
        raise ConfigError(
            f"unknown episode '{episode}'; episodes: {', '.join(sorted(project.episodes))}",
            project.config_file,
        )
    ep = project.episodes[episode]
    items = _items(project, Planner(project), episode)
    counts: Counter[str] = Counter()
    for item in items:
        if isinstance(item, Utterance):
            counts[item.speaker] += 1
    entries = []
    for speaker, n in counts.items():
        name = project.narrator if speaker == NARRATOR else speaker
        char = project.character(name)
        entries.append(CastEntry(speaker, n, char.name if char else None))
    return ep.source, entries


def _items(project: Project, planner: Planner, episode: str) -> tuple[ScriptItem, ...]:
    from ttsbuild.sources import source_format

    ep = project.episodes[episode]
    if source_format(ep.source, ep.format) != "srt":
        return episode_items(planner.project, episode)
    from ttsbuild.sources.script import parse_script
    from ttsbuild.sources.subtitles import known_names, read_subtitles, subtitle_script

    path = project.resolve_path(ep.source, "source", f"episodes.{episode}.source")
    subs = read_subtitles(path, ep.source, ep.encoding)
    names = known_names(project.characters, project.aliases) | {project.narrator}
    mode = str(ep.options.get("speaker_labels", "map"))
    if mode == "map":  # every label is a speaker here, known or not, so the cast lists it
        _, texts = subtitle_script(subs.cues, names, ep.skip_sound_descriptions, mode)
        names |= {normalize_text(label).casefold() for t in texts for label in t.labels}
    script, _ = subtitle_script(subs.cues, names, ep.skip_sound_descriptions, mode)
    return parse_script(script, ep.source)


def characters_block(entries: list[CastEntry]) -> str:
    """YAML for the speakers that are not characters yet, ready to paste.

    >>> print(characters_block([CastEntry("mary's mom", 3, None), CastEntry("bob", 1, "bob")]))
    characters:
      mary's mom: {}
    """
    new = [e.speaker for e in entries if e.character is None]
    if not new:
        return ""
    body = "".join(
        "  " + yaml.safe_dump({name: {}}, default_flow_style=None, allow_unicode=True)
        for name in new
    )
    return "characters:\n" + body.rstrip("\n")
