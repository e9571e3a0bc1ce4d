"""Planning the other source formats: read a whole episode source into items (uids set) and
check its speakers before anything is planned.

Imports: core, config, sources.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

from ttsbuild.config.project import Project
from ttsbuild.config.schema import config_line
from ttsbuild.core.errors import ConfigError, ScriptError
from ttsbuild.sources import SourceOptions, assign_uids, read_items, sniff_format, source_format
from ttsbuild.sources.script import NARRATOR, ScriptItem, Utterance, read_script

log = logging.getLogger(__name__)


def _config_error(p: Project, message: str, key: str) -> ConfigError:
    return ConfigError(message, p.config_file, config_line(p.root / p.config_file, key))


def episode_items(
    p: Project, name: str, path: Path | None = None, speaker: str = NARRATOR
) -> tuple[ScriptItem, ...]:
    """Every item of a script, Fountain, Final Draft, play or table episode, uids set.

    The whole source is read before anything is planned (and so before any render).
    """
    episode = p.episodes[name]
    if path is None:
        path = p.resolve_path(episode.source, "source", f"episodes.{name}.source")
    fmt = source_format(episode.source, episode.format)
    if episode.format is None:
        fmt = sniff_format(path, fmt)  # Ren'Py's dialogue export, whatever its name
    if fmt == "script":
        script = read_script(path, episode.source, speaker, episode.encoding)
        for note in script.notes:
            log.warning("ttsbuild: warning: %s:%d: %s", episode.source, note.line, note.message)
        return assign_uids(script.items, episode.source)
    if fmt is None or fmt == "srt":
        suffix = Path(episode.source).suffix.lower()
        raise _config_error(
            p,
            f"episode '{name}': unsupported source type '{suffix}' (use a .txt script, an "
            ".srt subtitle file, .fountain, .fdx, .csv, .tsv, .tab or .yarn, or set 'format:')",
            f"episodes.{name}.source",
        )
    pattern = episode.options.get("label_pattern")
    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _config_error(
                p,
                f"episode '{name}': label_pattern is not a valid regular expression: {exc}",
                f"episodes.{name}.label_pattern",
            ) from None
    names = frozenset({*p.characters, *p.aliases})
    options = SourceOptions.from_dict(episode.options, names)
    return read_items(path, fmt, options, episode.source)


def check_speakers(p: Project, items: Iterable[ScriptItem], source: str) -> None:
    """One error that lists every speaker that is neither a character nor an alias.

    A single unknown name gets the planner's usual error (with a suggestion).
    """
    unknown: dict[str, int] = {}
    for item in items:
        if (
            isinstance(item, Utterance)
            and item.speaker != "narrator"
            and item.speaker not in unknown
            and p.character(item.speaker) is None
        ):
            unknown[item.speaker] = item.line
    if len(unknown) < 2:
        return
    listed = ", ".join(f"'{n}' (line {line})" for n, line in unknown.items())
    raise ScriptError(
        f"{len(unknown)} unknown characters: {listed}; add them under 'characters:' or "
        f"'aliases:' in {p.config_file} ('ttsbuild cast' prints a block to paste)",
        source,
        next(iter(unknown.values())),
    )
