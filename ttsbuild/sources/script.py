"""Script language v1: parse ``.txt`` scripts into frozen items (pure functions).

Syntax (one physical line is one utterance; a tag applies to its own line only)::

    # a comment line
    Untagged text is spoken by the narrator (or the episode's ``speaker:``).
    [Alice] Hello.               this line is Alice's (names are case-insensitive)
    [de:Bob] Guten Tag.          speaker and language, this line
    [de:] Und weiter.            the line's speaker (here: the narrator) in German
    [Alice|seed:42|speed:0.9]    speaker with per-line parameters
    [Alice|effects:telephone]    replace the character's effects (presets joined by +, or none)
    [Alice|id:intro_01] Hello.   a stable line id for the text after the tag (voice assets)
    [pause:1.5s] [pause:300ms]   silence, never rendered
    [Bob|speed:0.9]              a tag alone on its line opens a block: the indented
        First line of the block.   lines after it are Bob's, with his parameters,
        Second line.               one utterance per line, until a line that is not indented

See docs/script.md for the whole language.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ttsbuild.core.errors import ScriptError, read_source
from ttsbuild.core.lines import physical_lines, refuse_controls
from ttsbuild.core.text import has_speakable, normalize_text
from ttsbuild.sources.decode import decode_source
from ttsbuild.sources.unspoken import Unspoken as Unspoken  # re-exported: a ScriptItem
from ttsbuild.sources.unspoken import unspoken_reason as unspoken_reason

NARRATOR = "narrator"

_LANG = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?$")
_NAME = re.compile(r"^[^\[\]|:#]+$")
_PAUSE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|ms)\s*$")
_PARAM_VALUE = re.compile(r"^-?\d+(?:\.\d+)?$")
_PRESETS = re.compile(r"^[a-z_]+(?:\+[a-z_]+)*$")


@dataclass(frozen=True)
class Utterance:
    """Text spoken by one speaker, from one physical script line."""

    line: int
    speaker: str  # as written, case-folded; resolved to a character by the planner
    language: str | None  # None: the character's default language
    params: tuple[tuple[str, float], ...]
    text: str
    # Stable identity across redrafts: the source's own id (a table's id column, a Yarn
    # #line: tag), else derived from speaker and text (ttsbuild.sources.identity). Never
    # part of a segment's key.
    uid: str = ""
    effects: tuple[str, ...] | None = None  # None: the character's own effects
    note: str = ""  # the writers' note on the line (Yarn `// note`, a table's notes): never spoken


@dataclass(frozen=True)
class Pause:
    """Silence inserted at assembly."""

    line: int
    milliseconds: float
    # "" for a pause the script asks for ([pause:...], direction); else the element whose
    # break it is (scene_headings, transitions, sections, acts): the planner adds its sound.
    kind: str = ""


ScriptItem = Utterance | Pause | Unspoken


@dataclass(frozen=True)
class _State:
    speaker: str = NARRATOR
    language: str | None = None
    params: tuple[tuple[str, float], ...] = ()
    effects: tuple[str, ...] | None = None


def parse_pause(value: str, path: str, line: int) -> Pause:
    m = _PAUSE.match(value)
    if not m:
        raise ScriptError(
            f"bad pause length {value!r}: write it as [pause:1.5s] or [pause:300ms]", path, line
        )
    amount, unit = float(m.group(1)), m.group(2)
    ms = amount * 1000.0 if unit == "s" else amount
    if not ms <= 600_000:  # also infinity (a number of 400 digits)
        raise ScriptError(f"pause of {value} is longer than 10 minutes", path, line)
    return Pause(line, ms)


def _parse_params(
    parts: list[str], path: str, line: int
) -> tuple[tuple[tuple[str, float], ...], tuple[str, ...] | None]:
    params: dict[str, float] = {}
    effects: tuple[str, ...] | None = None
    for part in parts:
        key, sep, value = part.partition(":")
        key, value = key.strip().lower(), value.strip()
        if key == "effects":
            if not _PRESETS.match(value.lower()):
                raise ScriptError(
                    f"bad effects {value!r}: write preset names joined by +, e.g. "
                    "[Alice|effects:telephone+small_room], or [Alice|effects:none]",
                    path,
                    line,
                )
            effects = () if value.lower() == "none" else tuple(value.lower().split("+"))
            continue
        if not sep or not key or not _PARAM_VALUE.match(value):
            raise ScriptError(
                f"bad parameter {part.strip()!r}: write parameters as name:number, "
                "e.g. [Alice|speed:0.9|seed:42]",
                path,
                line,
            )
        if key in params:
            raise ScriptError(f"parameter {key!r} given twice", path, line)
        number = float(value)
        if not math.isfinite(number):  # e.g. 400 digits: float() gives inf
            raise ScriptError(f"parameter {key!r} is not a finite number", path, line)
        params[key] = number
    return tuple(sorted(params.items())), effects


def _parse_tag(body: str, state: _State, path: str, line: int) -> tuple[_State, Pause | None]:
    parts = body.split("|")
    head = parts[0].strip()
    if head.lower().startswith("pause:") and len(parts) == 1:
        return state, parse_pause(head[len("pause:") :], path, line)
    params, effects = _parse_params(parts[1:], path, line)
    language: str | None = None
    if ":" in head:
        lang, _, name = head.partition(":")
        lang, name = lang.strip(), name.strip()
        if not _LANG.match(lang):
            raise ScriptError(
                f"bad tag [{body}]: {lang!r} is not a language code (use e.g. [de:Bob] or [de:])",
                path,
                line,
            )
        language = lang.lower()
        if not name:  # [de:] keeps the current speaker and switches language
            if not params and effects is None:
                params, effects = state.params, state.effects
            return _State(state.speaker, language, params, effects), None
        head = name
    if not head or not _NAME.match(head):
        raise ScriptError(
            f"bad tag [{body}]: expected [Name], [lang:Name], [lang:], [Name|key:value] "
            "or [pause:1.5s]",
            path,
            line,
        )
    return _State(normalize_text(head).casefold(), language, params, effects), None


def _tokens(text: str, path: str, line: int) -> Iterable[tuple[str, str]]:
    """Split a line into ('text', ...) and ('tag', ...) tokens; brackets must balance."""
    pos = 0
    while pos < len(text):
        open_at = text.find("[", pos)
        close_at = text.find("]", pos)
        if close_at != -1 and (open_at == -1 or close_at < open_at):
            raise ScriptError(
                f"stray ']' at column {close_at + 1} (a tag looks like [Alice])", path, line
            )
        if open_at == -1:
            yield "text", text[pos:]
            return
        if open_at > pos:
            yield "text", text[pos:open_at]
        end = text.find("]", open_at)
        nested = text.find("[", open_at + 1)
        if end == -1 or (nested != -1 and nested < end):
            raise ScriptError(f"unclosed tag starting at column {open_at + 1}", path, line)
        yield "tag", text[open_at + 1 : end]
        pos = end + 1


@dataclass(frozen=True)
class ScriptNote:
    """A line that parses but may not say what its author meant (a warning, never an error)."""

    line: int
    message: str


@dataclass(frozen=True)
class ParsedScript:
    items: tuple[ScriptItem, ...]
    notes: tuple[ScriptNote, ...]


def _speaker_words(state: _State) -> str:
    return "the narrator" if state.speaker == NARRATOR else f"'{state.speaker}'"


def _alone_tag(tokens: list[tuple[str, str]]) -> str | None:
    """The tag's body when a line holds one tag and no text, else None."""
    tags = [value for kind, value in tokens if kind == "tag"]
    text = "".join(value for kind, value in tokens if kind == "text")
    return tags[0] if len(tags) == 1 and not text.strip() else None


def parse_script_notes(
    source: str, path: str = "<script>", speaker: str = NARRATOR, blocks: bool = True
) -> ParsedScript:
    """Parse a whole script into utterances and pauses, in order, with notes on lines that
    follow the old "a tag holds until the next tag" habit.

    ``speaker`` speaks untagged lines (the episode's ``speaker:``, case-folded; default the
    narrator). With ``blocks`` (scripts; subtitles pass False: a cue is a line), a tag alone on
    an unindented line opens a block of the indented lines after it.

    >>> parsed = parse_script_notes("[Bob] Hi.\nBye.")
    >>> [(u.speaker, u.text) for u in parsed.items], [n.line for n in parsed.notes]
    ([('bob', 'Hi.'), ('narrator', 'Bye.')], [2])
    """
    default = _State(speaker)
    unit = "line" if blocks else "cue"
    fix = (
        "repeat the tag, or indent the lines under a tag line of their own (docs/script.md)"
        if blocks
        else "repeat the tag in this cue (docs/timing.md)"
    )
    items: list[ScriptItem] = []
    notes: list[ScriptNote] = []
    ids: dict[str, int] = {}  # explicit line ids -> their line
    block: _State | None = None  # the open block's speaker, language and parameters
    opener: tuple[int, str] | None = None  # a block tag whose first indented line is to come
    previous: str | None = None  # the tag the line before ended with, if not the default's
    for line_no, raw in enumerate(physical_lines(source), start=1):
        if raw.lstrip().startswith("#"):
            continue
        if not raw.strip():
            previous = None
            continue
        refuse_controls(raw, path, ScriptError, line_no)  # one policy: ttsbuild/core/lines.py
        tokens = list(_tokens(raw, path, line_no))
        indented = blocks and raw[:1] in (" ", "\t")
        if not indented:
            if opener is not None:
                notes.append(
                    ScriptNote(
                        opener[0],
                        f"the tag [{opener[1]}] stands alone on its line and no indented line "
                        "follows, so it applies to nothing; put the text after the tag, or "
                        "indent the lines it should speak (docs/script.md)",
                    )
                )
            block, opener = None, None
        start = block if block is not None else default
        if opener is not None:
            opener = None  # the block has its first line
        alone = _alone_tag(tokens) if blocks and not indented else None
        if alone is not None:
            state, pause = _parse_tag(alone, default, path, line_no)
            if pause is None:
                block, opener, previous = state, (line_no, alone), None
                continue
        state = start
        last_tag: str | None = None
        untagged_start = block is None and tokens[0][0] == "text" and has_speakable(tokens[0][1])
        if untagged_start and previous is not None:
            notes.append(
                ScriptNote(
                    line_no,
                    f"this untagged {unit} is spoken by {_speaker_words(default)} as written, "
                    f"without the tag [{previous}] of the {unit} before: a tag applies to its "
                    f"own {unit} only; {fix}",
                )
            )
        line_id: str | None = None  # an explicit |id: names the next text of this line
        for kind, value in tokens:
            if kind == "tag":
                value, line_id = _take_line_id(value, line_id, ids, path, line_no)
                state, pause = _parse_tag(value, state, path, line_no)
                if pause is not None:
                    items.append(pause)
                else:
                    last_tag = value
                continue
            text = normalize_text(value)
            if not text or not has_speakable(text):
                continue  # punctuation alone, e.g. "..." between tags: nothing to say
            prev = items[-1] if items else None
            if (
                line_id is None
                and isinstance(prev, Utterance)
                and prev.line == line_no
                and (prev.speaker, prev.language, prev.params, prev.effects)
                == (state.speaker, state.language, state.params, state.effects)
            ):
                items[-1] = dataclasses.replace(prev, text=f"{prev.text} {text}")
            else:
                items.append(
                    Utterance(
                        line_no,
                        state.speaker,
                        state.language,
                        state.params,
                        text,
                        line_id or "",
                        effects=state.effects,
                    )
                )
                line_id = None
        if line_id is not None:
            raise ScriptError(
                f"line id {line_id!r} has no text after it on its line", path, line_no
            )
        previous = last_tag if block is None and state != default else None
    if opener is not None:
        notes.append(
            ScriptNote(
                opener[0],
                f"the tag [{opener[1]}] stands alone on the last line, so it applies to nothing",
            )
        )
    return ParsedScript(tuple(items), tuple(notes))


_LINE_ID = re.compile(r"^[^\s\[\]|]+$")


def _take_line_id(
    body: str, pending: str | None, ids: dict[str, int], path: str, line: int
) -> tuple[str, str | None]:
    """A tag without its ``|id:...`` part, and the id (or the one still pending)."""
    parts = body.split("|")
    found = [p for p in parts[1:] if p.partition(":")[0].strip().lower() == "id"]
    if not found:
        return body, pending
    if len(found) > 1 or pending is not None:
        raise ScriptError("two line ids before one text; give each line one id", path, line)
    value = found[0].partition(":")[2].strip()
    if not _LINE_ID.match(value):
        raise ScriptError(
            f"bad line id {value!r}: write it as [Alice|id:intro_01] (no spaces, | or brackets)",
            path,
            line,
        )
    if value in ids:
        raise ScriptError(f"line id {value!r} is also used on line {ids[value]}", path, line)
    ids[value] = line
    return "|".join(p for p in parts if p not in found), value


def parse_script(
    source: str, path: str = "<script>", speaker: str = NARRATOR, blocks: bool = True
) -> tuple[ScriptItem, ...]:
    """Parse a whole script into utterances and pauses, in order (see
    :func:`parse_script_notes`).

    >>> parse_script("Hi. [Alice] Hello. [pause:0.5s] [de:Bob] Guten Tag.")  # doctest: +ELLIPSIS
    (Utterance(line=1, speaker='narrator', ..., text='Hi.', uid='', effects=None), Utterance(...text='Hello.'...), ...)
    """
    return parse_script_notes(source, path, speaker, blocks).items


def read_script(
    path: str | Path,
    display: str | None = None,
    speaker: str = NARRATOR,
    encoding: str | None = None,
) -> ParsedScript:
    """Read a script file, decoded as subtitles are (:mod:`ttsbuild.sources.decode`), and
    parse it."""
    shown = display or str(path)
    data = read_source(path, shown, ScriptError, "script")
    text, _ = decode_source(data, shown, ScriptError, encoding)
    return parse_script_notes(text, shown, speaker)
