"""Planning subtitle episodes: one segment per cue (chunked if long), the cue times and the
timing options in the plan's ``extra`` (never in a request: switching modes renders nothing).

Imports: core, config, sources, planning.
"""

from __future__ import annotations

import codecs
import dataclasses
import difflib
import logging
from pathlib import Path
from typing import Any, Protocol

from ttsbuild.config.project import Project
from ttsbuild.core.errors import ConfigError, ScriptError, SubtitleError
from ttsbuild.core.text import normalize_text
from ttsbuild.planning.plan import EpisodePlan, PlanItem, Segment, Silence
from ttsbuild.sources import assign_uids
from ttsbuild.sources.script import Pause, ScriptItem, Utterance, parse_script_notes
from ttsbuild.sources.subtitles import (
    Cue,
    CueText,
    known_names,
    read_subtitles,
    strip_formatting,
    subtitle_script,
)


class CuePlanner(Protocol):
    """What planning a subtitle file needs from the planner (it calls this module, never the
    other way round: no import back up)."""

    project: Project

    def _config_error(self, message: str, key: str) -> ConfigError: ...

    def default_speaker(self, episode: str) -> str: ...

    def plan_utterance(
        self, utt: Utterance, source: str, cue: int | None = None
    ) -> list[Segment]: ...


log = logging.getLogger(__name__)


def _warn(source: str, line: int, message: str) -> None:
    log.warning("ttsbuild: warning: %s:%d: %s", source, line, message)


def _warn_labels(
    source: str, cues: tuple[Cue, ...], texts: tuple[CueText, ...], names: frozenset[str], mode: str
) -> None:
    """One warning per speaker label that is removed, with its cue count and first cue."""
    if mode == "speak":
        return
    removed: dict[str, list[Cue]] = {}
    for cue, text in zip(cues, texts):
        for label in text.labels:
            if mode == "strip" or normalize_text(label).casefold() not in names:
                removed.setdefault(label, []).append(cue)
    for label, where in removed.items():
        first = where[0]
        why = (
            "speaker_labels: strip"
            if mode == "strip"
            else "not a character or alias; map it under 'aliases:' to give it a voice"
        )
        _warn(
            source,
            first.line + 1,
            f"speaker label '{label}:' ({len(where)} cues, first cue {first.number or first.index}) "
            f"is not spoken ({why})",
        )


def reading_speeds(cues: tuple[Cue, ...], texts: tuple[CueText, ...]) -> list[tuple[Cue, float]]:
    """Each shown cue's reading speed: its characters (line breaks as one space) a second."""
    out = []
    for cue, text in zip(cues, texts):
        shown = " ".join(strip_formatting(text.display).split())
        if shown and cue.end_ms > cue.start_ms:
            out.append((cue, len(shown) * 1000 / (cue.end_ms - cue.start_ms)))
    return out


def _warn_reading_speed(
    source: str, cues: tuple[Cue, ...], texts: tuple[CueText, ...], limit: float
) -> None:
    """One warning for the source cues that read faster than ``limit``, naming the worst."""
    fast = sorted(
        ((c, cps) for c, cps in reading_speeds(cues, texts) if cps > limit),
        key=lambda x: -x[1],
    )
    if fast:
        worst = ", ".join(f"cue {c.number or c.index} {cps:.1f}" for c, cps in fast[:3])
        _warn(
            source,
            fast[0][0].line + 1,
            f"{len(fast)} of {len(cues)} cues read faster than {limit:g} characters a second "
            f"(srt_max_cps); the fastest: {worst}",
        )


def plan_subtitles(planner: CuePlanner, name: str, path: Path) -> EpisodePlan:
    """One segment per cue (chunked if long); cue times and timing options go to ``extra``.

    The timing mode never reaches a segment's request, so switching it re-renders nothing.
    """
    p = planner.project
    episode = p.episodes[name]
    if episode.encoding:
        try:
            codecs.lookup(episode.encoding)
        except LookupError:
            raise planner._config_error(
                f"episode '{name}': unknown text encoding '{episode.encoding}' "
                "(e.g. utf-8, cp1252, cp1250, latin-1)",
                f"episodes.{name}.encoding",
            ) from None
    subs = read_subtitles(path, episode.source, episode.encoding)
    names = known_names(p.characters, p.aliases) | {p.narrator}
    labels = str(episode.options.get("speaker_labels", "map"))
    script, texts = subtitle_script(subs.cues, names, episode.skip_sound_descriptions, labels)
    _warn_labels(episode.source, subs.cues, texts, names, labels)
    _warn_reading_speed(episode.source, subs.cues, texts, p.output.srt_max_cps)

    def located(cue_index: int, exc: ScriptError) -> SubtitleError:
        cue = subs.cues[cue_index - 1]
        return SubtitleError(
            f"cue {cue.number or cue.index}: {exc.bare_message}", episode.source, cue.line + 1
        )

    try:
        notes = parse_script_notes(script, episode.source, planner.default_speaker(name), False)
    except ScriptError as exc:
        raise located(exc.line or 1, exc) from None
    parsed = assign_uids(notes.items)
    for note in notes.notes:
        cue = subs.cues[note.line - 1]
        _warn(episode.source, cue.line + 1, f"cue {cue.number or cue.index}: {note.message}")
    _warn_near_names(episode.source, subs.cues, texts, names)
    by_cue: dict[int, list[ScriptItem]] = {}
    for item in parsed:
        by_cue.setdefault(item.line, []).append(item)
    items: list[PlanItem] = []
    for cue in subs.cues:
        cue_items = by_cue.get(cue.index, [])
        if not any(isinstance(i, Utterance) for i in cue_items):
            continue  # nothing to speak: the cue keeps its timing and renders nothing
        for item in cue_items:
            if isinstance(item, Pause):
                items.append(Silence(cue.line + 1, item.milliseconds, cue.index))
                continue
            if not isinstance(item, Utterance):
                continue  # scripts in cues have no unspoken lines with ids
            utt = dataclasses.replace(item, line=cue.line + 1)
            try:
                items.extend(planner.plan_utterance(utt, episode.source, cue.index))
            except ScriptError as exc:
                raise located(cue.index, exc) from None
    return EpisodePlan(name, episode.source, tuple(items), _srt_extra(subs, texts, episode))


def _warn_near_names(source: str, cues: Any, texts: Any, names: frozenset[str]) -> None:
    """A sound description that is nearly a character's name may be a misspelt speaker."""
    for cue, text in zip(cues, texts):
        for description in text.descriptions:
            close = difflib.get_close_matches(description.casefold(), sorted(names), 1, 0.8)
            if close:
                log.warning(
                    "ttsbuild: %s:%d: cue %d: [%s] is not a known character, so it is "
                    "treated as a sound description; did you mean '%s'?",
                    source,
                    cue.line + 1,
                    cue.number or cue.index,
                    description,
                    close[0],
                )


def _srt_extra(subs: Any, texts: Any, episode: Any) -> dict[str, Any]:
    """The cue times and timing options the plan keeps for assembly (never in a key)."""
    return {
        "srt": {
            "encoding": subs.encoding,
            "timing": episode.timing.to_dict(),
            "cues": [
                {
                    "cue": cue.index,
                    "number": cue.number,
                    "line": cue.line,
                    "start_ms": cue.start_ms,
                    "end_ms": cue.end_ms,
                    "display": text.display,
                    "descriptions": list(text.descriptions),
                }
                for cue, text in zip(subs.cues, texts)
            ],
        }
    }
