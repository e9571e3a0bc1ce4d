"""Script language v1: parse ``.txt`` scripts into frozen items (pure functions).

Syntax (one physical line is one utterance; a tag applies until the next speaker tag)::

    # a comment line
    Untagged text is spoken by the narrator.
    [Alice] Hello.               switch speaker (names are case-insensitive)
    [de:Bob] Guten Tag.          speaker and language
    [de:] Und weiter.            language for the current speaker
    [Alice|seed:42|speed:0.9]    speaker with per-segment parameters
    [Alice|id:intro_01] Hello.   a stable line id for the text after the tag (voice assets)
    [pause:1.5s] [pause:300ms]   silence, never rendered
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ttsbuild.core.errors import ScriptError, read_source
from ttsbuild.core.text import has_speakable, normalize_text

NARRATOR = "narrator"

_LANG = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?$")
_NAME = re.compile(r"^[^\[\]|:#]+$")
_PAUSE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|ms)\s*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0/C1 controls but tab
_PARAM_VALUE = re.compile(r"^-?\d+(?:\.\d+)?$")


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


@dataclass(frozen=True)
class Pause:
    """Silence inserted at assembly."""

    line: int
    milliseconds: float


ScriptItem = Utterance | Pause


@dataclass(frozen=True)
class _State:
    speaker: str = NARRATOR
    language: str | None = None
    params: tuple[tuple[str, float], ...] = ()


def parse_pause(value: str, path: str, line: int) -> Pause:
    m = _PAUSE.match(value)
    if not m:
        raise ScriptError(
            f"bad pause length {value!r}: write it as [pause:1.5s] or [pause:300ms]", path, line
        )
    amount, unit = float(m.group(1)), m.group(2)
    ms = amount * 1000.0 if unit == "s" else amount
    if ms > 600_000:
        raise ScriptError(f"pause of {value} is longer than 10 minutes", path, line)
    return Pause(line, ms)


def _parse_params(parts: list[str], path: str, line: int) -> tuple[tuple[str, float], ...]:
    params: dict[str, float] = {}
    for part in parts:
        key, sep, value = part.partition(":")
        key, value = key.strip().lower(), value.strip()
        if not sep or not key or not _PARAM_VALUE.match(value):
            raise ScriptError(
                f"bad parameter {part.strip()!r}: write parameters as name:number, "
                "e.g. [Alice|speed:0.9|seed:42]",
                path,
                line,
            )
        if key in params:
            raise ScriptError(f"parameter {key!r} given twice", path, line)
        params[key] = float(value)
    return tuple(sorted(params.items()))


def _parse_tag(body: str, state: _State, path: str, line: int) -> tuple[_State, Pause | None]:
    parts = body.split("|")
    head = parts[0].strip()
    if head.lower().startswith("pause:") and len(parts) == 1:
        return state, parse_pause(head[len("pause:") :], path, line)
    params = _parse_params(parts[1:], path, line)
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
            return _State(state.speaker, language, params or state.params), None
        head = name
    if not head or not _NAME.match(head):
        raise ScriptError(
            f"bad tag [{body}]: expected [Name], [lang:Name], [lang:], [Name|key:value] "
            "or [pause:1.5s]",
            path,
            line,
        )
    return _State(normalize_text(head).casefold(), language, params), None


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


def parse_script(source: str, path: str = "<script>") -> tuple[ScriptItem, ...]:
    """Parse a whole script into utterances and pauses, in order.

    >>> parse_script("Hi. [Alice] Hello. [pause:0.5s] [de:Bob] Guten Tag.")  # doctest: +ELLIPSIS
    (Utterance(line=1, speaker='narrator', ..., text='Hi.', uid=''), Utterance(...text='Hello.'...), ...)
    """
    items: list[ScriptItem] = []
    ids: dict[str, int] = {}  # explicit line ids -> their line
    state = _State()
    for line_no, raw in enumerate(source.splitlines(), start=1):
        if raw.lstrip().startswith("#"):
            continue
        control = _CONTROL.search(raw)
        if control:
            raise ScriptError(
                f"control character U+{ord(control.group()):04X} at column {control.start() + 1} "
                "(is this a binary or a corrupted file?); remove it",
                path,
                line_no,
            )
        line_id: str | None = None  # an explicit |id: names the next text of this line
        for kind, value in _tokens(raw, path, line_no):
            if kind == "tag":
                value, line_id = _take_line_id(value, line_id, ids, path, line_no)
                state, pause = _parse_tag(value, state, path, line_no)
                if pause is not None:
                    items.append(pause)
                continue
            text = normalize_text(value)
            if not text:
                continue
            if not has_speakable(text):
                continue  # punctuation alone, e.g. "..." between tags: nothing to say
            prev = items[-1] if items else None
            if (
                line_id is None
                and isinstance(prev, Utterance)
                and prev.line == line_no
                and (prev.speaker, prev.language, prev.params)
                == (state.speaker, state.language, state.params)
            ):
                items[-1] = Utterance(
                    line_no,
                    prev.speaker,
                    prev.language,
                    prev.params,
                    f"{prev.text} {text}",
                    prev.uid,
                )
            else:
                items.append(
                    Utterance(
                        line_no, state.speaker, state.language, state.params, text, line_id or ""
                    )
                )
                line_id = None
        if line_id is not None:
            raise ScriptError(
                f"line id {line_id!r} has no text after it on its line", path, line_no
            )
    return tuple(items)


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


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: its BOM starts the same way
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(data: bytes) -> str:
    """UTF-8 (a BOM is accepted), or UTF-16/32 when a byte-order mark says so.

    >>> decode_text("Café".encode("utf-16"))
    'Café'
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data.decode(codec)
    return data.decode("utf-8-sig")


def read_script(path: str | Path, display: str | None = None) -> tuple[ScriptItem, ...]:
    """Read a UTF-8 script file (or UTF-16/32 with a byte-order mark) and parse it."""
    shown = display or str(path)
    data = read_source(path, shown, ScriptError, "script")
    try:
        text = decode_text(data)
    except UnicodeDecodeError as exc:
        utf8 = exc.encoding.startswith("utf-8")
        line = data[: exc.start].count(b"\n") + 1 if utf8 else None
        name = "UTF-8" if utf8 else exc.encoding.upper()
        raise ScriptError(
            f"not valid {name} (byte 0x{data[exc.start]:02x}); save the script as UTF-8",
            shown,
            line,
        ) from None
    return parse_script(text, shown)
