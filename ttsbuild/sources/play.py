"""Plays as printed and transcribed (``format: play``): speaker labels, speeches, directions.

Two label shapes, told apart line by line:

* on its own line: ``MENENIUS:`` or ``HAMLET.`` and the speech on the lines below;
* inline: ``Algernon.  Did you hear what I was playing, Lane?`` or ``HAMLET: To be...``.

A speech runs to the next blank line or label (wrapped lines are joined). A label with no
speech is allowed. A line only counts as a label when it is a *plausible* one: at most four
words and 40 characters, every word capitalised (small words like "of" aside), no sentence
punctuation, not a stock word ("Yes.", "Farewell."); and either it starts a paragraph and is
written in capitals, ends in a colon, or uses the printed two-space ``Name.  Speech`` form, or
the name is already known (a config character or alias, or a label seen before). So a speech
line that happens to end in a colon ("And thus he spoke:") stays speech.

Stage directions are bracketed ``[Exit.]``, parenthesised ``(aside)`` or italic
``_Enter Lane._``, inline or as their own paragraph; lines that start with Enter, Exit,
Exeunt or Re-enter are directions too. A direction inside a speech splits it into parts
(:class:`ttsbuild.sources.common.Speech`): a pause from ``direction:`` (``[Pause.]``), or a new
part with the parameters ``parentheticals:`` gives it. ``ACT``/``SCENE`` headings are scene
headings. A
paragraph that is none of these continues the last speaker's speech (verse paragraphs), or,
before any speech, is action.

``label_pattern:`` replaces the label rule with a regular expression (``re.match`` on each
line, a group ``name`` and an optional group ``text``); its matches are trusted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from ttsbuild.core.errors import SourceError
from ttsbuild.core.lines import physical_lines
from ttsbuild.sources.common import (
    SourceOptions,
    Speech,
    narration,
    normalize_speaker,
    strip_emphasis,
)
from ttsbuild.sources.script import ScriptItem

log = logging.getLogger(__name__)

_OWN = re.compile(r"^(?P<name>[^\W\d_][\w .'’&-]{0,39}?)\s*(?P<sep>[:.])\s*$")
_INLINE = re.compile(
    r"^(?P<name>[^\W\d_][\w .'’&-]{0,39}?)(?P<sep>:|\.)(?P<gap>\s+)(?P<text>\S.*)$"
)
# A heading is a paragraph that starts with the heading word in capitals ("ACT I", "SCENE 2.
# A room.", "THE END"), or in title case with its number ("Act I", "Scene 3") or alone
# ("Prologue.", "Curtain."). "Act now, or..." or "End of the road" in a speech is speech.
_HEADING = re.compile(
    r"(?:ACT|SCENE|PROLOGUE|EPILOGUE|INDUCTION|CURTAIN|THE END|END OF|FIRST ACT|SECOND ACT|"
    r"THIRD ACT|FOURTH ACT|FIFTH ACT|ACT DROP)\b"
    r"|(?:Act|Scene)\s+(?:[IVXLC]+|\d+|One|Two|Three|Four|Five|Six|Seven|Eight|Nine|Ten)\b"
    r"|(?:Prologue|Epilogue|Induction|Curtain|The End)\W*$"
)
_ACT = re.compile(r"^(ACT|[A-Z]+ ACT)\b", re.IGNORECASE)
_ENTRANCE = re.compile(r"^(Enter|Exit|Exeunt|Re-enter|Reenter|Manet|Manent)\b")
# An italic span is a direction when it reads like one ("_Enter Lane._", two or more words
# from a capital); "_am_" or "_Permanently_" is emphasis and stays speech.
# (``[^_\s]*\s`` splits at the first blank: ``[^_]*\s[^_]*`` backtracked quadratically.)
_ITALIC = re.compile(r"(?<![\w\\])_[A-Z][^_\s]*\s[^_]*_(?!\w)\.?")
_DIRECTION = re.compile(rf"\[[^\[\]]*\]|\([^()]*\)|{_ITALIC.pattern}")
_SMALL = {"of", "the", "de", "la", "le", "du", "von", "van", "and", "&", "a", "in", "to"}
_STOCK = {
    "yes",
    "no",
    "oh",
    "o",
    "ah",
    "ay",
    "aye",
    "nay",
    "well",
    "so",
    "now",
    "then",
    "here",
    "there",
    "what",
    "why",
    "how",
    "come",
    "go",
    "sir",
    "madam",
    "farewell",
    "alas",
    "good",
    "indeed",
    "true",
    "away",
    "hark",
    "peace",
    "enough",
    "adieu",
    "amen",
    "done",
    "stay",
}


def _plausible(name: str) -> bool:
    words = name.split()
    if not 1 <= len(words) <= 4 or len(name) > 40:
        return False
    if not words[0][0].isupper():
        return False
    if any(not (w[0].isupper() or w.casefold() in _SMALL or not w[0].isalpha()) for w in words):
        return False
    return normalize_speaker(name) not in _STOCK


def _capitals(name: str) -> bool:
    letters = [c for c in name if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


class _Labels:
    """Decides which lines are speaker labels; remembers the names seen."""

    def __init__(self, options: SourceOptions, path: str):
        self.known = set(options.known_names)
        self.custom: re.Pattern[str] | None = None
        if options.label_pattern:
            try:
                self.custom = re.compile(options.label_pattern)
            except re.error as exc:
                raise SourceError(
                    f"label_pattern is not a valid regular expression: {exc}", path
                ) from None
            if "name" not in self.custom.groupindex:
                raise SourceError("label_pattern needs a group named 'name': (?P<name>...)", path)

    def match(self, line: str, starts_paragraph: bool) -> tuple[str, str] | None:
        """``(speaker, speech text on this line)`` when the line is a label, else None."""
        s = line.strip()
        if self.custom is not None:
            m = self.custom.match(s)
            if not m or not m.group("name"):
                return None
            text = m.groupdict().get("text") or ""
            return self._seen(m.group("name")), text
        if _HEADING.match(s) or _ENTRANCE.match(s):
            return None
        m = _OWN.match(s)
        if m and _plausible(m.group("name")):
            name = m.group("name")
            if self._known(name) or (
                starts_paragraph and (_capitals(name) or m.group("sep") == ":")
            ):
                return self._seen(name), ""
            if _capitals(name) and m.group("sep") == ":":
                return self._seen(name), ""  # NAME: inside a paragraph, no blank line before
        m = _INLINE.match(s)
        if m and _plausible(m.group("name")):
            name = m.group("name")
            printed = m.group("sep") == "." and len(m.group("gap")) >= 2
            if self._known(name) or (
                starts_paragraph and (_capitals(name) or m.group("sep") == ":" or printed)
            ):
                return self._seen(name), m.group("text")
            if _capitals(name) and m.group("sep") == ":":
                return self._seen(name), m.group("text")  # HAMLET: ... line after line
        return None

    def _known(self, name: str) -> bool:
        return normalize_speaker(name) in self.known

    def _seen(self, name: str) -> str:
        speaker = normalize_speaker(name)
        self.known.add(speaker)
        return speaker


def _paragraphs(text: str) -> Iterator[list[tuple[int, str]]]:
    block: list[tuple[int, str]] = []
    for number, raw in enumerate(physical_lines(text), start=1):
        if raw.strip():
            block.append((number, raw.rstrip()))
        elif block:
            yield block
            block = []
    if block:
        yield block


def _closed(path: str, line: int, text: str) -> str:
    """A line whose last ``[`` is never closed gets its ``]`` at the end of the line (the
    direction ends there, never swallowing the rest of the speech), with a warning."""
    if text.rfind("[") > text.rfind("]"):
        log.warning(
            "ttsbuild: warning: %s:%d: '[' is never closed; the rest of this line is read as "
            "a stage direction",
            path,
            line,
        )
        return text + "]"
    return text


def parse_play(text: str, path: str, options: SourceOptions) -> list[ScriptItem]:
    """A play's text to utterances, in order.

    >>> from ttsbuild.sources.common import default_options
    >>> play = "MENENIUS:\\nWhat work's, my countrymen,\\nin hand? [Aside.]\\n\\nAlgernon.  Hi."
    >>> [(u.speaker, u.text) for u in parse_play(play, "p.txt", default_options())]
    [('menenius', "What work's, my countrymen, in hand?"), ('algernon', 'Hi.')]
    """
    text = text.lstrip("\ufeff")
    labels = _Labels(options, path)
    items: list[ScriptItem] = []
    speaker: str | None = None

    def speak(who: str, pieces: list[tuple[int, str]]) -> None:
        """One speech: its lines joined, directions split out (narrated or dropped)."""
        joined = strip_emphasis(" ".join(_closed(path, n, t) for n, t in pieces))
        line = pieces[0][0]
        speech = Speech(who, line)
        pos = 0
        for m in _DIRECTION.finditer(joined):
            speech.add(line, joined[pos : m.start()])
            direction = m.group(0)
            if options.narrates("stage_directions") and options.direction_pause(direction) is None:
                items.extend(speech.utterances())
                speech = Speech(who, line, params=speech.params)
                items.extend(narration(line, strip_emphasis(direction.strip("[]()_"))))
            else:
                speech.direct(line, direction, options)
            pos = m.end()
        rest = joined[pos:]
        if "[" in rest:  # a direction left open at the end of the speech: "[Exit"
            rest, _, direction = rest.partition("[")
            speech.add(line, rest)
            items.extend(speech.utterances())
            speech = Speech(who, line)
            if options.narrates("stage_directions"):
                items.extend(narration(line, direction))
        else:
            speech.add(line, rest)
        items.extend(speech.utterances())

    for block in _paragraphs(text):
        first_line, first = block[0]
        joined = " ".join(t.strip() for _, t in block)
        if labels.match(first, True) is None:
            if _HEADING.match(joined):
                speaker = None
                kind = "acts" if _ACT.match(joined) else "scene_headings"
                items.extend(options.scene_break(kind, first_line))
                if options.narrates("scene_headings"):
                    items.extend(narration(first_line, joined))
                continue
            if (
                joined.startswith(("[", "("))
                or _ENTRANCE.match(joined)
                or _ITALIC.fullmatch(joined)
            ):
                if options.narrates("stage_directions"):
                    items.extend(narration(first_line, strip_emphasis(joined).strip("[]() ")))
                continue
        current: list[tuple[int, str]] = []
        who = speaker
        for index, (number, raw) in enumerate(block):
            label = labels.match(raw, index == 0)
            if label is not None:
                if who is not None and current:
                    speak(who, current)
                who, current = label[0], []
                if label[1]:
                    current.append((number, label[1].strip()))
                continue
            current.append((number, raw.strip()))
        if who is None:
            if current and options.narrates("action"):
                items.extend(narration(current[0][0], " ".join(t for _, t in current)))
            continue
        if current:
            speak(who, current)
        speaker = who
    return items
