"""SubRip (.srt) reading as players do it, and cue text cleaning (pure functions).

Reading is tolerant where real files vary and strict where a guess would be wrong:

* bytes: decoded as scripts are, by :func:`ttsbuild.sources.decode.decode_source` (a BOM, else
  ``encoding:``, else UTF-8, else UTF-16 without BOM, else detected: cp1252, cp1250, ...).
* lines: CRLF, LF and CR-only endings; a missing final blank line.
* cues: the number line is optional and may be out of order (cues are sorted by start time,
  stably); timestamps may lack milliseconds or use ``.`` instead of ``,``; text after a blank
  line that is not a new cue continues the cue before it.
* errors: a malformed timing line, a cue that ends before it starts, a cue number without a
  timing line, text before the first cue or a file without cues raise :class:`SubtitleError`
  naming the file, cue and line.

Times stay integer milliseconds here, exactly as written; they become samples once, in
:mod:`ttsbuild.assembly.srt_timing`.

Cue text is cleaned before anything is hashed: ``<i>``/``<b>``/``<font ...>`` tags, ``{\\an8}``
style override blocks, HTML entities, hard spaces and dialogue dashes are removed. Square
brackets follow one rule (:func:`classify_bracket`): a bracket that is a valid script tag naming
a known character or alias, a language switch or a pause is a script tag; any other bracket is
a sound description.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from ttsbuild.core.errors import SubtitleError, read_source
from ttsbuild.core.text import normalize_text
from ttsbuild.sources.decode import decode_source

log = logging.getLogger(__name__)

_TIME = r"(?:(\d{1,3}):)?(\d{1,2}):(\d{1,2})(?:[,.:](\d{1,3}))?"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-+>\s*{_TIME}(?:\s+.*)?\s*$")
_NUMBER = re.compile(r"^\s*\d+\s*$")
_ASS_BLOCK = re.compile(r"\{\\[^{}]*\}")
_HTML_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_DIALOGUE_DASH = re.compile(r"^\s*[-‐‑–—]\s+")
_MUSIC = re.compile(r"[♪♫♬♩]")
_BRACKET = re.compile(r"\[([^\[\]]*)\]")
_BRACKET_WS = re.compile(r"\[([^\[\]]*)\]\s*")
_STRAY = re.compile(r"(\[[^\[\]]*\])|[\[\]]")
_PAREN = re.compile(r"\(([^()]*)\)")
_LANG_HEAD = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?$")


@dataclass(frozen=True)
class Cue:
    """One subtitle cue as read from the file."""

    index: int  # 1-based position after sorting by start time
    number: int | None  # the cue number written in the file, if any
    line: int  # line of the timing line in the file
    start_ms: int
    end_ms: int
    lines: tuple[str, ...]  # the raw text lines, as written

    @property
    def raw_text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class Subtitles:
    path: str
    encoding: str
    cues: tuple[Cue, ...]


# ---------------------------------------------------------------- text to cues


def _ms(groups: tuple[str | None, ...]) -> int:
    hours, minutes, seconds, fraction = groups
    # Milliseconds are a decimal fraction: "1.5" is 1.500 s, "1,05" is 1.050 s.
    millis = int((fraction or "0").ljust(3, "0"))
    return ((int(hours or 0) * 60 + int(minutes or 0)) * 60 + int(seconds or 0)) * 1000 + millis


def parse_timing(line: str) -> tuple[int, int] | None:
    """``(start_ms, end_ms)`` of a timing line, or None if it is not one.

    >>> parse_timing("00:01:02,5 --> 00:01:03.250 X1:10")
    (62500, 63250)
    >>> parse_timing("0:00:07 --> 0:00:09")
    (7000, 9000)
    """
    m = _TIMING.match(line)
    if not m:
        return None
    g = m.groups()
    if any(int(x or 0) >= 60 for x in (g[1], g[2], g[5], g[6])):
        return None
    return _ms(g[0:4]), _ms(g[4:8])


def _stamp(ms: int) -> str:
    """``HH:MM:SS,mmm`` for an error message.

    >>> _stamp(3_723_004)
    '01:02:03,004'
    """
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}:{seconds:02d},{millis:03d}"


def parse_srt(text: str, path: str = "<subtitles>") -> tuple[Cue, ...]:
    """Parse SRT text into cues sorted by start time (stable for equal starts)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff").split("\n")
    found: list[tuple[int | None, int, int, int, list[str]]] = []
    i = 0
    n = len(lines)

    def cue_no() -> int:
        return len(found) + 1

    while i < n:
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        number: int | None = None
        timing_at = i
        if _NUMBER.match(line) and parse_timing(line) is None:
            j = i + 1
            if j < n and parse_timing(lines[j]) is not None:
                if len(line.strip()) > 9:  # int() refuses more than 4300 digits
                    raise SubtitleError(
                        f"cue number {line.strip()[:12]}... is too long (at most 9 digits)",
                        path,
                        i + 1,
                    )
                number, timing_at = int(line), j
            elif j < n and "-->" in lines[j]:
                raise SubtitleError(
                    f"cue {line.strip()}: bad timing line {lines[j].strip()!r} (expected "
                    "'HH:MM:SS,mmm --> HH:MM:SS,mmm')",
                    path,
                    j + 1,
                )
            else:
                raise SubtitleError(
                    f"cue {line.strip()}: the cue number is not followed by a timing line",
                    path,
                    i + 1,
                )
        times = parse_timing(lines[timing_at])
        if times is None:
            if "-->" in lines[timing_at]:
                raise SubtitleError(
                    f"cue {cue_no()}: bad timing line {lines[timing_at].strip()!r} (expected "
                    "'HH:MM:SS,mmm --> HH:MM:SS,mmm')",
                    path,
                    timing_at + 1,
                )
            if not found:
                raise SubtitleError(
                    f"expected a cue number or a timing line, found {line.strip()[:40]!r}",
                    path,
                    i + 1,
                )
            # Text after a blank line that starts no cue: it continues the cue before it.
            found[-1][4].append(line)
            i += 1
            continue
        text_lines: list[str] = []
        k = timing_at + 1
        while k < n and lines[k].strip():
            if parse_timing(lines[k]) is not None:
                break  # a timing line with no blank line (and no number) before it
            if _NUMBER.match(lines[k]) and k + 1 < n and parse_timing(lines[k + 1]) is not None:
                break  # the next cue's number, with no blank line before it
            text_lines.append(lines[k])
            k += 1
        if times[1] < times[0]:
            raise SubtitleError(
                f"cue {number if number is not None else cue_no()}: ends "
                f"({_stamp(times[1])}) before it starts ({_stamp(times[0])}); fix the timing line",
                path,
                timing_at + 1,
            )
        found.append((number, timing_at + 1, times[0], times[1], text_lines))
        i = k
    if not found:
        raise SubtitleError("no subtitle cues found (is this an .srt file?)", path)
    ordered = sorted(enumerate(found), key=lambda item: (item[1][2], item[0]))
    return tuple(
        Cue(pos, number, line_no, start, end, tuple(t.rstrip() for t in text if t.strip()))
        for pos, (_, (number, line_no, start, end, text)) in enumerate(ordered, start=1)
    )


def read_subtitles(
    path: str | Path, display: str | None = None, encoding: str | None = None
) -> Subtitles:
    """Read and parse an .srt file (see the module docstring for what is accepted)."""
    shown = display or str(path)
    data = read_source(path, shown, SubtitleError, "subtitle")
    text, used = decode_source(data, shown, SubtitleError, encoding)
    return Subtitles(shown, used, parse_srt(text, shown))


# ---------------------------------------------------------------- cue text


def strip_formatting(text: str) -> str:
    """Remove what players do not show as words: tags, override blocks, entities, hard spaces.

    Line structure is kept (one output line per input line).

    >>> strip_formatting("{\\\\an8}<i>Tom &amp; Jerry</i>&nbsp;<font color='red'>!</font>")
    'Tom & Jerry !'
    """
    out: list[str] = []
    for line in text.split("\n"):
        line = _ASS_BLOCK.sub("", line)
        line = _HTML_TAG.sub("", line)
        line = html.unescape(line)
        line = line.replace("\\N", " ").replace("\\n", " ").replace("\\h", " ")
        out.append(normalize_text(line))
    return "\n".join(out)


def known_names(characters: Collection[str], aliases: Collection[str]) -> frozenset[str]:
    """Case-folded names a bracket may name to be a script tag."""
    return frozenset(normalize_text(n).casefold() for n in (*characters, *aliases, "narrator"))


def classify_bracket(body: str, names: Collection[str]) -> str:
    """``"tag"`` or ``"description"`` for the text inside ``[...]``.

    The rule: a bracket is a script tag when it is ``[pause:...]``, a language switch
    (``[de:]``), or names a known character or alias (``[Alice]``, ``[de:Bob]``,
    ``[Alice|speed:0.9]``). Anything else (``[door slams]``, ``[Carol]`` when Carol is not in
    the config) is a sound description.

    >>> classify_bracket("Alice|speed:0.9", {"alice"}), classify_bracket("door slams", {"alice"})
    ('tag', 'description')
    """
    head = body.split("|", 1)[0].strip()
    if head.lower().startswith("pause:"):
        return "tag"
    if ":" in head:
        lang, _, name = head.partition(":")
        if not _LANG_HEAD.match(lang.strip()):
            return "description"
        if not name.strip():
            return "tag"
        head = name
    return "tag" if normalize_text(head).casefold() in names else "description"


# A speaker label at the start of a cue line: "MAN:", "LITHGOW:", "DR. SMITH:" (capitals, at
# most four words), or any known name ("Alice:"). "10:30" and "Note: this" are not labels.
_LABEL = re.compile(r"^(?P<name>[^\W\d_][^:]{0,39}?)\s*:(?:\s+|$)(?P<rest>.*)$")
_LABEL_WORD = re.compile(r"^[^\W\d_][^\W_]*(?:['’.-][^\W_]*)*\.?$")


def speaker_label(line: str, names: Collection[str]) -> tuple[str, str] | None:
    """``(name, rest)`` when the line starts with a speaker label, else None.

    >>> speaker_label("LITHGOW: We go now.", set()), speaker_label("At 10:30 sharp.", set())
    (('LITHGOW', 'We go now.'), None)
    >>> speaker_label("Alice: Hi.", {"alice"}), speaker_label("Note: this.", set())
    (('Alice', 'Hi.'), None)
    """
    m = _LABEL.match(line)
    if not m:
        return None
    name = m.group("name").strip()
    words = name.split()
    if normalize_text(name).casefold() in names:
        return name, m.group("rest")
    if (
        len(words) <= 4
        and name.upper() == name
        and sum(c.isalpha() for c in name) >= 2
        and all(_LABEL_WORD.match(w) or (i and w.isdigit()) for i, w in enumerate(words))
    ):
        return name, m.group("rest")
    return None


@dataclass(frozen=True)
class CueText:
    """A cue's text, ready for the script parser and for the adjusted SRT."""

    script: str  # one line of script text (tags kept, descriptions resolved), may be empty
    display: str  # what the adjusted SRT shows: the original lines without script tags
    descriptions: tuple[str, ...]  # sound descriptions found (removed or spoken, per config)
    labels: tuple[str, ...] = ()  # speaker labels found ("MAN:"), as written


def cue_text(
    lines: tuple[str, ...], names: Collection[str], skip_descriptions: bool, labels: str = "map"
) -> CueText:
    """Clean a cue's lines for speaking.

    Music notes are never spoken. With ``skip_descriptions``, sound descriptions in ``[...]``
    (see :func:`classify_bracket`) and ``(...)`` are removed; without it their words are
    spoken (the brackets are dropped). Unbalanced brackets are dropped. A speaker label at the
    start of a line (:func:`speaker_label`) is, by ``labels``: ``map`` (a known name becomes
    that line's tag, any other is removed), ``strip`` (removed) or ``speak`` (read aloud).

    >>> cue_text(("- MAN: Hi.", "- ALICE: Bye."), {"alice"}, True).script
    'Hi. [ALICE] Bye.'

    >>> cue_text(("<i>[Alice] Hello.</i>", "[door slams] (laughs) Bye!"), {"alice"}, True)
    CueText(script='[Alice] Hello. Bye!', display='<i>Hello.</i>\\n[door slams] (laughs) Bye!', \
descriptions=('door slams', 'laughs'), labels=())
    """
    descriptions: list[str] = []

    def bracket(m: re.Match[str]) -> str:
        if classify_bracket(m.group(1), names) == "tag":
            return m.group(0)
        descriptions.append(normalize_text(m.group(1)))
        return " " if skip_descriptions else f" {m.group(1)} "

    def paren(m: re.Match[str]) -> str:
        descriptions.append(normalize_text(m.group(1)))
        return " " if skip_descriptions else f" {m.group(1)} "

    spoken: list[str] = []
    found: list[str] = []
    for line in strip_formatting("\n".join(lines)).split("\n"):
        line = _DIALOGUE_DASH.sub("", line)
        label = speaker_label(line, names) if labels != "speak" else None
        if label is not None:
            found.append(label[0])
            known = labels == "map" and normalize_text(label[0]).casefold() in names
            line = f"[{label[0]}] {label[1]}" if known else label[1]
        line = _MUSIC.sub(" ", line)
        line = _BRACKET.sub(bracket, line)
        if skip_descriptions:
            line = _PAREN.sub(paren, line)
        line = _STRAY.sub(lambda m: m.group(1) or " ", line)  # keep tags, drop stray brackets
        spoken.append(line)
    script = normalize_text(" ".join(spoken))
    display_lines = [
        normalize_text(
            _BRACKET_WS.sub(
                lambda m: "" if classify_bracket(m.group(1), names) == "tag" else m.group(0),
                line,
            )
        )
        for line in lines
    ]
    display = "\n".join(line for line in display_lines if line)
    return CueText(script, display, tuple(d for d in descriptions if d), tuple(found))


def subtitle_script(
    cues: tuple[Cue, ...], names: Collection[str], skip_descriptions: bool, labels: str = "map"
) -> tuple[str, tuple[CueText, ...]]:
    """One script line per cue (line *i* is cue *i*), for :func:`ttsbuild.sources.script.parse_script`.

    A cue is a line: its tags apply to that cue only, and an untagged cue is the episode's
    default speaker's (the parser is called without blocks, so indentation means nothing).
    Each line starts with a zero-width space, so a cue starting with ``#`` is not a comment
    (normalization removes the space before hashing).
    """
    texts = tuple(cue_text(c.lines, names, skip_descriptions, labels) for c in cues)
    return "\n".join("\u200b" + t.script for t in texts), texts
