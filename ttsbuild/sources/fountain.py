"""Fountain screenplays (``.fountain``), read as the spec at https://fountain.io/syntax says.

A pure, line-oriented parser of our own (docs/sources.md says why no PyPI parser is used):
every element keeps the line it starts on, and malformed input is a located error.

What is spoken: dialogue, by its character; action, scene headings, transitions, centered
text and standalone lyrics by the narrator when the episode's ``speak:`` says ``narrate``.
Scene headings, transitions and sections (``#``; ``# ACT ...`` is an act) are breaks: each puts
the pause of its ``breaks:`` entry in the episode (:meth:`SourceOptions.scene_break`).
Never spoken: the title page, notes ``[[...]]``, boneyard ``/* ... */``, sections ``#``,
synopses ``=``, page breaks ``===``, and parentheticals. A parenthetical splits its speech into
parts: one in the episode's ``direction:`` table (``(pause)``, ``(beat)``) is a pause between
them, any other starts a part with its own parameters from ``parentheticals:``. Dual dialogue (``^``) is spoken one after the other, left first.
"""

from __future__ import annotations

import re

from ttsbuild.core.errors import SourceError
from ttsbuild.core.lines import physical_lines
from ttsbuild.sources.common import (
    BREAKS,
    SourceOptions,
    Speech,
    narration,
    normalize_speaker,
    strip_emphasis,
)
from ttsbuild.sources.script import ScriptItem, Utterance

_TITLE_KEYS = {
    "title",
    "credit",
    "author",
    "authors",
    "source",
    "draft date",
    "date",
    "contact",
    "copyright",
    "notes",
    "revision",
    "episode",
    "format",
    "font",
}
_TITLE_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9 _.-]*):(.*)$")
_SCENE = re.compile(r"^(?:INT|EXT|EST|INT\.?/EXT|I/E)[. ]", re.IGNORECASE)
_SCENE_NUMBER = re.compile(r"\s*#[\w.-]+#\s*$")
_ACT = re.compile(r"^ACT\b", re.IGNORECASE)
_PAGE_BREAK = re.compile(r"^={3,}\s*$")
_TRANSITION = re.compile(r"^(?:[^a-z]*TO:|FADE IN:?|FADE OUT\.?|FADE TO BLACK\.?|CUT TO BLACK\.?)$")
_CENTERED = re.compile(r"^>(.*)<$")
_PARENTHETICAL = re.compile(r"^\(.*\)$")


_LOWER = re.compile(r"[a-z]")
_UPPER = re.compile(r"[A-Z]")
#: The first character after ``pos`` that is a newline or not blank (or the end).
_NEXT_MARK = re.compile(r"[^\S\n]*(\n|\S|\Z)")


def _is_cue(s: str) -> bool:
    r"""Whether a stripped line has a character cue's shape: capitals (no a-z) with at least one
    A-Z, then optional parenthesised extensions (which may hold lower case: ``(cont'd)``) and
    a dual-dialogue ``^``. The same lines as the pattern
    ``^[^a-z]*?[A-Z][^a-z]*?(\s*\(.*\))?\s*\^?$``, tested by scanning, in linear time (the
    pattern backtracks cubically on a long line of capitals).

    >>> [_is_cue(s) for s in ("BOB", "BOB (cont'd)", "MARY ^", "Bob", "BOB said", "(V.O.)")]
    [True, True, True, False, False, False]
    """
    body = s[:-1].rstrip() if s.endswith("^") else s
    upper = _UPPER.search(body)
    lower = _LOWER.search(body)
    if upper is None or (lower is not None and upper.start() > lower.start()):
        return False
    if lower is None:
        return True
    return body.endswith(")") and body.find("(", upper.start() + 1, lower.start()) != -1


def _remove_spans(
    text: str, path: str, opener: str, closer: str, what: str
) -> tuple[str, set[int]]:
    """Remove every ``opener ... closer`` span, keeping its newlines (line numbers stay);
    returns the text and the 0-based indexes of lines that held nothing but removed spans
    (they are dropped, not read as blank lines). One pass: linear in the text, however many
    spans (the text was rebuilt per span)."""
    emptied: set[int] = set()
    out: list[str] = []
    pos = line = 0  # where the text not yet copied starts, and its 0-based line
    blank_before = True  # the output's current line holds only blanks so far
    while True:
        start = text.find(opener, pos)
        kept = text[pos:] if start == -1 else text[pos:start]
        out.append(kept)
        newline = kept.rfind("\n")
        tail = kept if newline == -1 else kept[newline + 1 :]
        blank_before = (blank_before or newline != -1) and not tail.strip()
        if start == -1:
            return "".join(out), emptied
        first = line + kept.count("\n")
        end = text.find(closer, start + len(opener))
        if end == -1:
            raise SourceError(f"{what} '{opener}' is never closed with '{closer}'", path, first + 1)
        end += len(closer)
        inner = text.count("\n", start, end)
        last = first + inner
        mark = _NEXT_MARK.match(text, end)
        blank_after = mark is not None and mark.group(1) in ("\n", "")
        if blank_before and blank_after:
            emptied.update(range(first, last + 1))
        elif blank_before:
            emptied.update(range(first, last))
        elif blank_after:
            emptied.update(range(first + 1, last + 1))
        else:
            emptied.update(range(first + 1, last))
        out.append("\n" * inner)
        if inner:
            blank_before = True
        pos, line = end, last


def _title_key(line: str) -> tuple[str, str] | None:
    m = _TITLE_KEY.match(line)
    return (m.group(1).strip(), m.group(2).strip()) if m else None


def _title_page_end(lines: list[tuple[int, str]]) -> int:
    """How many of the leading lines are the title page (0 when there is none).

    The spec's title page is the first paragraph of ``Key: value`` lines. Real files also
    leave blank lines inside it (``Title:``, a blank line, then the title), so the title page
    goes on over paragraphs that continue a key left empty, or that hold a known key
    (``Author:``, ``Draft date:``...); it ends at the first paragraph that does neither.
    """
    if not lines:
        return 0
    first = _title_key(lines[0][1])
    if first is None:
        return 0
    if first[0].casefold() not in _TITLE_KEYS and first[0] == first[0].upper():
        return 0  # e.g. "FADE IN:" opens the screenplay
    paragraphs: list[tuple[int, int]] = []  # [start, end) line indexes
    start = None
    for i, (_, raw) in enumerate(lines):
        if raw.strip() and start is None:
            start = i
        elif not raw.strip() and start is not None:
            paragraphs.append((start, i))
            start = None
    if start is not None:
        paragraphs.append((start, len(lines)))
    end = paragraphs[0][1]
    open_value = first[1] == "" and paragraphs[0][1] - paragraphs[0][0] == 1
    for a, b in paragraphs[1:]:
        keys = [k for k in (_title_key(raw.strip()) for _, raw in lines[a:b]) if k]
        known = any(k[0].casefold() in _TITLE_KEYS for k in keys)
        if not (known or open_value):
            break
        end = b
        last = _title_key(lines[b - 1][1].strip())
        open_value = last is not None and last[1] == ""
    return end


def _one_line_element(s: str, prev_blank: bool, next_blank: bool) -> tuple[str, str] | None:
    """A one-line element (centered text, a transition, a scene heading, lyrics) as its kind
    and body, or None."""
    centered = _CENTERED.match(s)
    if centered:
        return "centered", centered.group(1).strip()
    if s.startswith(">"):  # forced transition
        return "transitions", s[1:].strip()
    if s.startswith(".") and not s.startswith("..") and prev_blank:
        return "scene_headings", _SCENE_NUMBER.sub("", s[1:]).strip()
    if _SCENE.match(s) and prev_blank:
        return "scene_headings", _SCENE_NUMBER.sub("", s).strip()
    if _TRANSITION.match(s) and prev_blank and next_blank:
        return "transitions", s
    if s.startswith("~"):
        return "lyrics", s[1:].strip()
    return None


def parse_fountain(text: str, path: str, options: SourceOptions) -> list[ScriptItem]:
    """Fountain text to utterances, in order.

    >>> from ttsbuild.sources.common import default_options
    >>> [(u.speaker, u.text) for u in parse_fountain(
    ...     "INT. HOUSE - DAY\\n\\nAlice enters.\\n\\nBOB (V.O.)\\n(quietly)\\nHi *there*.\\n",
    ...     "x.fountain", default_options())]
    [('narrator', 'Alice enters.'), ('bob', 'Hi there.')]
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    text, dead = _remove_spans(text, path, "/*", "*/", "boneyard")
    text, noted = _remove_spans(text, path, "[[", "]]", "note")
    dropped = dead | noted
    lines = [(i + 1, raw) for i, raw in enumerate(physical_lines(text)) if i not in dropped]
    lines = lines[_title_page_end(lines) :]
    items: list[ScriptItem] = []
    n = len(lines)

    def blank(k: int) -> bool:
        return k < 0 or k >= n or not lines[k][1].strip()

    def element(kind: str, line: int, body: str) -> None:
        if kind in BREAKS:
            items.extend(options.scene_break(kind, line))
        if options.narrates(kind):
            body = strip_emphasis(body)
            if kind in BREAKS:
                body = options.spoken_heading(kind, body)
            items.extend(narration(line, body))

    i = 0
    while i < n:
        line_no, raw = lines[i]
        s = raw.strip()
        if not s or _PAGE_BREAK.match(s):
            i += 1
            continue
        if s.startswith("#"):  # a section: a break, never spoken ("# ACT ONE" is an act's)
            kind = "acts" if _ACT.match(s.lstrip("#").strip()) else "sections"
            items.extend(options.scene_break(kind, line_no))
            i += 1
            continue
        if s.startswith("=") and not s.startswith("==="):
            i += 1  # synopsis: for the writer, never spoken
            continue
        prev_blank, next_blank = blank(i - 1), blank(i + 1)
        one = _one_line_element(s, prev_blank, next_blank)
        if one is not None:
            element(one[0], line_no, one[1])
            i += 1
            continue
        cue = None
        if prev_blank and not next_blank and not s.startswith("!"):
            if s.startswith("@"):
                cue = s[1:]
            elif _is_cue(s) and not s.endswith(":"):  # "CUT TO:" is never a cue
                cue = s
        if cue is not None:
            speaker = normalize_speaker(cue)
            if not speaker:
                raise SourceError(f"empty character cue {s!r}", path, line_no)
            speech, i = _dialogue(lines, i + 1, Speech(speaker, line_no), options)
            items.extend(speech.utterances())
            continue
        paragraph, i = _action(lines, i + 1, s)
        element("action", line_no, strip_emphasis(paragraph))
    return [item for item in items if not isinstance(item, Utterance) or item.text]


def _dialogue(
    lines: list[tuple[int, str]], i: int, speech: Speech, options: SourceOptions
) -> tuple[Speech, int]:
    """A cue's dialogue and parentheticals from line ``i`` to a blank line; returns the speech
    and the index after it (a line of two spaces keeps the dialogue going, per the spec)."""
    while i < len(lines):
        body_no, body = lines[i]
        b = body.strip()
        if not b and body != "  ":
            break
        if _PARENTHETICAL.match(b):
            speech.direct(body_no, b, options)
        elif b:
            speech.add(body_no, strip_emphasis(b.removeprefix("~")))
        i += 1
    return speech, i


def _action(lines: list[tuple[int, str]], i: int, first: str) -> tuple[str, int]:
    """Action: ``first`` and the lines from ``i`` up to a blank line or another element."""
    paragraph = [first.removeprefix("!")]
    while i < len(lines) and lines[i][1].strip():
        nxt = lines[i][1].strip()
        if nxt.startswith(("~", "#")) or _CENTERED.match(nxt):
            break
        paragraph.append(nxt.removeprefix("!"))
        i += 1
    return " ".join(paragraph), i
