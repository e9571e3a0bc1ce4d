"""What every source parser shares: its options, speaker names, markup and speech pieces."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ttsbuild.core.text import has_speakable, normalize_text
from ttsbuild.sources.script import NARRATOR, Pause, ScriptItem, Utterance

# Elements that are not dialogue, and whether the narrator reads them ('narrate') or not
# ('skip'). The defaults live in the config schema (episodes.<name>.speak), nowhere else.
ELEMENTS = ("action", "scene_headings", "transitions", "stage_directions", "centered", "lyrics")
# Elements that break the episode into scenes: each gets the pause (and sound) of its
# episodes.<name>.breaks entry.
BREAKS = ("scene_headings", "transitions", "sections", "acts")

_QUOTES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "“": '"', "”": '"', "`": "'"})


@dataclass(frozen=True)
class SourceOptions:
    """How one episode's source is read; built from its validated config entry.

    Every default comes from the config schema; a parser called without a config (tests, the
    ``cast`` command on a bare file) gets :meth:`from_dict` of the schema's defaults.
    """

    speak: Mapping[str, str] = field(default_factory=dict)
    parentheticals: Mapping[str, tuple[tuple[str, float], ...]] = field(default_factory=dict)
    direction: Mapping[str, float] = field(default_factory=dict)  # direction word -> pause ms
    breaks: Mapping[str, float] = field(default_factory=dict)  # element -> its break's ms
    headings: str = "expanded"
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

    def scene_break(self, kind: str, line: int) -> list[Pause]:
        """The break at a scene heading, transition, section or act (none if not configured)."""
        ms = self.breaks.get(kind)
        return [] if ms is None else [Pause(line, ms, kind)]

    def spoken_heading(self, kind: str, text: str) -> str:
        """A heading or transition as the narrator reads it (``headings:``)."""
        return read_heading(text) if self.headings == "expanded" else text

    def has_params(self, text: str) -> bool:
        return _paren_key(text) in self.parentheticals

    def direction_pause(self, text: str) -> float | None:
        """The pause, in ms, that a piece of direction stands for (None: not a pause).

        >>> default_options().direction_pause("(Long pause.)")
        2500.0
        """
        return self.direction.get(_paren_key(text))

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
            direction={
                _paren_key(str(k)): float(v) for k, v in (episode.get("direction") or {}).items()
            },
            breaks={str(k): float(v["pause_ms"]) for k, v in (episode.get("breaks") or {}).items()},
            headings=str(episode.get("headings") or "expanded"),
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
    """A parenthetical or direction as the tables look it up: brackets, italics, a final
    full stop and case dropped (``(Pause.)``, ``[pause]`` and ``_Pause._`` are ``pause``)."""
    key = normalize_text(text.translate(_QUOTES)).strip().strip("()[]_").strip()
    return key.rstrip(".").strip().casefold()


_HEADING_PREFIX = re.compile(
    r"^(?P<p>INT\.?\s*/\s*EXT|EXT\.?\s*/\s*INT|I\s*/\s*E|INT|EXT|EST)(?:\.|\s)\s*", re.IGNORECASE
)
_PREFIX_WORDS = {"int": "Interior", "ext": "Exterior", "est": "Establishing shot"}
_HEADING_WORDS = {
    "cont'd": "continued",
    "contd": "continued",
    "cont.": "continued",
    "o.s.": "off screen",
    "v.o.": "voice over",
    "pov": "point of view",
    "pov.": "point of view",
}


def read_heading(text: str) -> str:
    """A scene heading or transition read aloud: the INT./EXT. prefix spelled out, dashes read
    as pauses, CONT'D as "continued", capitals in sentence case.

    >>> read_heading("INT. RADIO STUDIO - NIGHT (CONT'D)")
    'Interior. Radio studio, night, continued.'
    >>> read_heading("INT./EXT. BRICK'S CAR - MOVING"), read_heading("SMASH CUT TO:")
    ("Interior and exterior. Brick's car, moving.", 'Smash cut to.')
    """
    text = normalize_text(text.translate(_QUOTES))
    spoken: list[str] = []
    m = _HEADING_PREFIX.match(text)
    if m:
        prefix = re.sub(r"[\s.]", "", m.group("p")).casefold()
        spoken.append(_PREFIX_WORDS.get(prefix, "Interior and exterior") + ".")
        text = text[m.end() :]
    words: list[str] = []
    for raw in re.split(r"\s+", re.sub(r"\s+[-–—]+\s+|\s*[()]\s*", " , ", text)):
        word = _HEADING_WORDS.get(raw.casefold(), raw)
        words.append(word.lower() if word.isupper() else word)
    body = re.sub(r"(?:\s*,)+", ",", " ".join(w for w in words if w)).strip(" ,:")
    if body:
        spoken.append(body[:1].upper() + body[1:].rstrip(".:") + ".")
    return " ".join(spoken)


def normalize_speaker(name: str) -> str:
    """A character cue as the planner looks it up: extensions stripped, quotes folded, case-folded.

    >>> normalize_speaker("MARY’S MOM (V.O.) (CONT’D)")
    "mary's mom"
    >>> normalize_speaker("@McClane ^")
    'mcclane'
    """
    name = normalize_text(name.translate(_QUOTES))
    name = _strip_extensions(name.lstrip("@").rstrip("^").strip())
    return normalize_text(name.rstrip(":").strip()).casefold()


def _strip_extensions(name: str) -> str:
    """``name`` without its trailing ``(...)`` extensions, from the right, one scan (a cue of
    many extensions was rescanned once per extension), never down to nothing.

    >>> _strip_extensions("BOB (V.O.) (CONT'D)"), _strip_extensions("(V.O.)")
    ('BOB', '(V.O.)')
    """
    end = len(name.rstrip())
    while end and name[end - 1] == ")":
        start = name.rfind("(", 0, end - 1)
        if start == -1 or ")" in name[start + 1 : end - 1]:
            break
        head = start
        while head and name[head - 1].isspace():
            head -= 1
        if not head:
            break
        end = head
    return name[:end]


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
    """A speech being collected, in parts: a new part starts at each parenthetical or piece of
    direction, with that direction's parameters (``parentheticals:``); a direction that is a
    pause (``direction:``) puts a :class:`Pause` between the parts and keeps the parameters."""

    speaker: str
    line: int
    parts: list[tuple[int, tuple[tuple[str, float], ...], list[str]] | Pause] = field(
        default_factory=list
    )
    params: tuple[tuple[str, float], ...] = ()
    open: bool = False  # whether the next text continues the last part

    def add(self, line: int, text: str) -> None:
        last = self.parts[-1] if self.parts else None
        if self.open and isinstance(last, tuple):
            last[2].append(text)
        else:
            self.parts.append((line, self.params, [text]))
            self.open = True

    def direct(self, line: int, text: str, options: SourceOptions) -> None:
        """A parenthetical (or a play's stage direction) inside the speech at ``line``."""
        self.open = False
        pause = options.direction_pause(text)
        if pause is not None:
            self.parts.append(Pause(line, pause))
        if pause is None or options.has_params(text):
            self.params = options.parenthetical_params(text)

    def utterances(self, language: str | None = None, uid: str = "") -> list[ScriptItem]:
        """The speech's parts in order: an utterance per part with words, pauses between."""
        out: list[ScriptItem] = []
        for part in self.parts:
            if isinstance(part, Pause):
                out.append(part)
                continue
            line, params, texts = part
            text = normalize_text(" ".join(texts))
            if text and has_speakable(text):
                out.append(Utterance(line, self.speaker, language, params, text, uid))
        return out


def narration(line: int, text: str) -> list[Utterance]:
    """An utterance by the narrator, or nothing when there is nothing to say."""
    text = normalize_text(text)
    return [Utterance(line, NARRATOR, None, (), text)] if text and has_speakable(text) else []
