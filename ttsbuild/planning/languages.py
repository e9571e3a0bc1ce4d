"""A line's language, and the language check (docs/script.md, Languages).

Pure functions the planner calls per utterance: :func:`line_language` resolves the language
(tag, character, episode, project) and :func:`check_script` finds letters the routed voice's
language cannot read, as a warning record or, under ``language_check: strict``, an error.
"""

from __future__ import annotations

import logging
from typing import Any

from ttsbuild.config.settings import Character
from ttsbuild.core.errors import ScriptError
from ttsbuild.core.scripts import SCRIPT_LANGUAGE, foreign_scripts
from ttsbuild.sources.script import Utterance

log = logging.getLogger(__name__)


def line_language(utt: Utterance, char: Character, episode_language: str | None) -> str:
    """A line's language: its tag, else the character's own ``language:``, else the
    episode's ``language:``, else the project's (the character's default)."""
    if utt.language:
        return utt.language.lower()
    if episode_language and not char.language_given:
        return episode_language
    return char.setting.language.lower()


def check_script(
    utt: Utterance, source: str, character: str, language: str, voice: str, mode: str
) -> dict[str, Any] | None:
    """The language check for one line: None when its letters suit ``language``; else the
    warning (logged, returned for the plan and the report), or a located error when ``mode``
    is ``strict``. ``mode`` ``ignore`` checks nothing."""
    scripts = () if mode == "ignore" else foreign_scripts(utt.text, language)
    if not scripts:
        return None
    tag = SCRIPT_LANGUAGE.get(scripts[0], "xx")
    message = (
        f"{', '.join(scripts)} text given to {character}'s voice ({voice}, language "
        f"'{language}'), which cannot read it; tag the line with its language (e.g. "
        f"[{tag}:{character}]) and give {character} a voice for it under "
        f"characters.{character}.languages"
    )
    if mode == "strict":
        raise ScriptError(f"{message} (language_check: strict)", source, utt.line)
    log.warning("ttsbuild: warning: %s:%s: %s", source, utt.line, message)
    return {
        "where": f"{source}:{utt.line}",
        "speaker": character,
        "language": language,
        "voice": voice,
        "scripts": list(scripts),
        "uid": utt.uid,
    }
