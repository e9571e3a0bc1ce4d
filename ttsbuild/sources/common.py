"""What every source parser shares: its options, speaker names, markup and speech pieces."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ttsbuild.core.text import has_speakable, normalize_text
from ttsbuild.sources.script import NARRATOR, Utterance

# Elements that are not dialogue, and whether the narrator reads them ('narrate') or not
# ('skip'). The defaults live in the config schema (episodes.<name>.speak), nowhere else.
ELEMENTS = ("action", "scene_headings", "transitions", "stage_directions", "centered", "lyrics")

_QUOTES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "“": '"', "”": '"', "`": "'"})
_EXTENSION = re.compile(r"\s*\([^()]*\)\s*$")  # (V.O.), (O.S.), (CONT'D), (cont'd) ...


@dataclass(frozen=True)
class SourceOptions:
    """How one episode's source is read; built from its validated config entry.

    Every default comes from the config schema; a parser called without a config (tests, the
    ``cast`` command on a bare file) gets :meth:`from_dict` of the schema's defaults.
    """

    speak: Mapping[str, str] = field(default_factory=dict)
    parentheticals: Mapping[str, tuple[tuple[str, float], ...]] = field(default_factory=dict)
    columns: Mapping[str, str] = field(default_factory=dict)
    label_pattern: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    known_names: frozenset[str] = frozenset()  # config characters and aliases, case-folded
    variables: Mapping[str, str] = field(default_factory=dict)  # interpolations' values

    def narrates(self, element: str) -> bool:
        return self.speak.get(element) == "narrate"

    def parenthetical_params(self, text: str) -> tuple[tuple[str, float], ...]:
        return self.parentheticals.get(_paren_key(text), ())

    @classmethod
    def from_dict(
        cls, episode: Mapping[str, Any], known_names: frozenset[str] = frozenset()
    ) -> SourceOptions:
        """From an episode's config entry, already validated (defaults filled in)."""
        parens = {
            _paren_key(str(k)): tuple(sorted((str(n).lower(), float(v)) for n, v in p.items()))
            for k, p in (episode.get("parentheticals") or {}).items()
        }
        return cls(
            speak=dict(episode.get("speak") or {}),
            parentheticals=parens,
            columns={str(k): str(v) for k, v in (episode.get("columns") or {}).items()},
            label_pattern=episode.get("label_pattern") or None,
            delimiter=episode.get("delimiter") or None,
            encoding=episode.get("encoding") or None,
            known_names=known_names,
            variables={str(k): str(v) for k, v in (episode.get("variables") or {}).items()},
        )


def default_options(known_names: frozenset[str] = frozenset(), **episode: Any) -> SourceOptions:
    """Options with the schema's defaults, for parsers used outside a project (tests, tools)."""
    from ttsbuild.config.schema import with_defaults

    entry = with_defaults("episode", {"source": "", **episode})
    return SourceOptions.from_dict(entry, known_names)


def _paren_key(text: str) -> str:
    return normalize_text(text.translate(_QUOTES)).strip("()").strip().casefold()


def normalize_speaker(name: str) -> str:
    """A character cue as the planner looks it up: extensions stripped, quotes folded, case-folded.

    >>> normalize_speaker("MARY’S MOM (V.O.) (CONT’D)")
    "mary's mom"
    >>> normalize_speaker("@McClane ^")
    'mcclane'
    """
    name = normalize_text(name.translate(_QUOTES))
    name = name.lstrip("@").rstrip("^").strip()
    while True:
        stripped = _EXTENSION.sub("", name)
        if stripped == name or not stripped:
            break
        name = stripped
    return normalize_text(name.rstrip(":").strip()).casefold()


# Fountain emphasis, also common in plays transcribed from italics: ***bold italic***,
# **bold**, *italic*, _underline_. A backslash escapes a literal * or _.
_EMPHASIS = re.compile(r"(?<![\\\w])(\*{1,3}|_)(?=\S)(.+?)(?<=\S)(?<!\\)\1(?!\w)")


def strip_emphasis(text: str) -> str:
    """Remove emphasis markers (kept words), then unescape ``\\*`` and ``\\_``.

    >>> strip_emphasis(r"***Very*** **bold** *it* _under_ 2\\*3 snake_case")
    'Very bold it under 2*3 snake_case'
    """
    while True:
        new = _EMPHASIS.sub(r"\2", text)
        if new == text:
            break
        text = new
    return text.replace("\\*", "*").replace("\\_", "_")


@dataclass
class Speech:
    """A speech being collected: pieces split where a parenthetical changes parameters."""

    speaker: str
    line: int
    pieces: list[tuple[int, tuple[tuple[str, float], ...], list[str]]] = field(default_factory=list)
    params: tuple[tuple[str, float], ...] = ()

    def add(self, line: int, text: str) -> None:
        if self.pieces and self.pieces[-1][1] == self.params:
            self.pieces[-1][2].append(text)
        else:
            self.pieces.append((line, self.params, [text]))

    def utterances(self, language: str | None = None, uid: str = "") -> list[Utterance]:
        out: list[Utterance] = []
        for line, params, texts in self.pieces:
            text = normalize_text(" ".join(texts))
            if text and has_speakable(text):
                out.append(Utterance(line, self.speaker, language, params, text, uid))
        return out


def narration(line: int, text: str) -> list[Utterance]:
    """An utterance by the narrator, or nothing when there is nothing to say."""
    text = normalize_text(text)
    return [Utterance(line, NARRATOR, None, (), text)] if text and has_speakable(text) else []
