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
from typing import TYPE_CHECKING

from ttsbuild.core.errors import ScriptError, SubtitleError
from ttsbuild.planning.plan import EpisodePlan, PlanItem, Silence
from ttsbuild.sources import assign_uids
from ttsbuild.sources.script import Pause, ScriptItem, Utterance, parse_script_notes
from ttsbuild.sources.subtitles import known_names, read_subtitles, subtitle_script

if TYPE_CHECKING:
    from ttsbuild.planning.planner import Planner

log = logging.getLogger(__name__)


def _warn(source: str, line: int, message: str) -> None:
    log.warning("ttsbuild: warning: %s:%d: %s", source, line, message)


def plan_subtitles(planner: Planner, name: str, path: Path) -> EpisodePlan:
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
    script, texts = subtitle_script(subs.cues, names, episode.skip_sound_descriptions)

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
    for cue, text in zip(subs.cues, texts):
        for description in text.descriptions:
            close = difflib.get_close_matches(description.casefold(), sorted(names), 1, 0.8)
            if close:
                log.warning(
                    "ttsbuild: %s:%d: cue %d: [%s] is not a known character, so it is "
                    "treated as a sound description; did you mean '%s'?",
                    episode.source,
                    cue.line + 1,
                    cue.number or cue.index,
                    description,
                    close[0],
                )
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
    extra = {
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
    return EpisodePlan(name, episode.source, tuple(items), extra)
