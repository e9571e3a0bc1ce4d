"""Physical lines and control characters: one policy for every reader (scripts, subtitles,
Fountain, Final Draft, plays, tables, lexicon files).

- A line ends at ``\\n``, ``\\r\\n`` or ``\\r``, as editors number lines; nothing else breaks a
  line (``str.splitlines`` also breaks at U+2028, U+2029, U+0085, form feed, 0x1C-0x1E...,
  which drops text from cells and shifts every later line number).
- A C0 or C1 control character other than tab (and the line breaks above) is an error naming
  the file and line: it is a binary or corrupted file, and an engine must never receive it.
"""

from __future__ import annotations

import re

from ttsbuild.core.errors import LocatedError

LINE_BREAK = re.compile(r"\r\n|\r|\n")
#: C0 and C1 controls but tab, line feed and carriage return.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def physical_lines(text: str, keepends: bool = False) -> list[str]:
    """The lines of a text as editors number them (no empty last line after a final break).

    >>> physical_lines("a\\u2028b\\x0cc\\r\\nd\\re\\n")
    ['a\\u2028b\\x0cc', 'd', 'e']
    >>> physical_lines("x\\r\\ny", keepends=True)
    ['x\\r\\n', 'y']
    """
    if keepends:
        return _LINE.findall(text)
    lines = LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def refuse_controls(text: str, path: str, error: type[LocatedError], first_line: int = 1) -> None:
    """Raise ``error`` at the first control character (file:line, column, code point).

    >>> from ttsbuild.core.errors import SourceError
    >>> refuse_controls("ok\\nbad\\x07bell\\n", "x.fountain", SourceError)
    Traceback (most recent call last):
    ...
    ttsbuild.core.errors.SourceError: x.fountain:2: control character U+0007 at column 4 (is this a binary or a corrupted file?); remove it
    """
    found = CONTROL.search(text)
    if found is None:
        return
    start = found.start()
    before = text[:start]
    line = first_line + len(LINE_BREAK.findall(before))
    column = start - max(before.rfind("\n"), before.rfind("\r"))
    raise error(
        f"control character U+{ord(found.group()):04X} at column {column} "
        "(is this a binary or a corrupted file?); remove it",
        path,
        line,
    )
