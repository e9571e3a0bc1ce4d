"""Game engines' text markup, removed before a line is spoken or hashed (pure, linear).

Ren'Py: text tags (``{b}``, ``{color=#DCC600}``, ``{/color}``, ``{w}``, ``{p}``, ``{nw}``...)
are removed, ``{{`` and ``[[`` are literal braces, ``[name]`` (with ``!t``, ``:fmt`` or
attribute access) is an interpolation, and the script's string escapes (``\\"``, ``\\'``,
``\\n``, ``\\\\``, ``\\%``) are undone.

Yarn Spinner: markup (``[b]...[/b]``, ``[wave=2]``, ``[pause=500 /]``, the close-all ``[/]``)
is removed, ``{$name}`` (or any ``{expression}``) is an interpolation, and a backslash escapes
the next character (``\\[``, ``\\{``, ``\\#``, ``\\/``...).

An interpolation is replaced from the episode's ``variables:`` map (a name's value, looked up
without its ``$``); one with no value there is refused with the file and line, never spoken raw.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ttsbuild.core.errors import SourceError

_RENPY = re.compile(r"\{\{|\[\[|\{[^{}]*\}|\[([^\[\]]*)\]|\\(.)", re.DOTALL)
_RENPY_ESCAPES = {"n": " ", '"': '"', "'": "'", "\\": "\\", "%": "%", " ": " "}
_YARN = re.compile(r"\\(.)|\{([^{}]*)\}|\[/?[A-Za-z_][\w-]*(?:[\s=][^\[\]]*)?\]|\[/\]", re.DOTALL)
_RENPY_OPEN = re.compile(r"[{\[]")
_YARN_OPEN = re.compile(r"\{|\[/?[A-Za-z_]")
_NAME = re.compile(r"^\s*\$?([A-Za-z_][\w.]*)\s*(?:![a-z]+)?\s*(?::[^\]]*)?\s*$")


class UnknownVariable(SourceError):
    """An interpolation with no value under ``variables:`` (``name``: what to add there)."""

    def __init__(self, name: str, shown: str, known: str, path: str, line: int):
        self.name, self.shown = name, shown
        super().__init__(
            f"{shown} is filled in by the game at run time and has no value here: add "
            f"{name!r} under 'variables:' in the episode config (known: {known})",
            path,
            line,
        )


def _value(
    expr: str,
    variables: Mapping[str, str],
    shown: str,
    path: str,
    line: int,
    unknown: list[UnknownVariable] | None,
) -> str:
    """The interpolation's value; without one: an error, or (``unknown`` given) noted there
    for :func:`raise_unknown` so that a reader reports every one at once."""
    m = _NAME.match(expr)
    name = m.group(1) if m else expr.strip()
    if name in variables:
        return variables[name]
    miss = UnknownVariable(name, shown, ", ".join(sorted(variables)) or "none", path, line)
    if unknown is None:
        raise miss
    unknown.append(miss)
    return ""


def raise_unknown(found: list[UnknownVariable]) -> None:
    """One error for every interpolation of a file without a value (a reader collects them
    all, so a user adds every name in one go), naming the first one's file and line."""
    if len(found) == 1:
        raise found[0]
    if found:
        names = list(dict.fromkeys(u.name for u in found))
        where = ", ".join(f"{u.shown} (line {u.line})" for u in found[:10])
        more = f" and {len(found) - 10} more" if len(found) > 10 else ""
        first = found[0]
        raise SourceError(
            f"{len(found)} interpolations are filled in by the game at run time and have no "
            f"value here: {where}{more}; add {', '.join(map(repr, names))} under 'variables:' "
            f"in the episode config (known: {first.bare_message.rsplit('(known: ', 1)[1]}",
            first.path,
            first.line,
        )


def _unclosed(leftover: str, opener: re.Pattern[str], path: str, line: int) -> None:
    """Refuse a tag or interpolation that is opened and never closed (never spoken raw)."""
    m = opener.search(leftover)
    if m is not None:
        raise SourceError(
            f"unclosed markup {leftover[m.start() : m.start() + 20]!r}: a '{m.group(0)[0]}' "
            "that is never closed; close it (Ren'Py: '{{' or '[[' for a literal one; Yarn: '\\[')",
            path,
            line,
        )


def strip_renpy(
    text: str,
    variables: Mapping[str, str],
    path: str,
    line: int,
    unknown: list[UnknownVariable] | None = None,
) -> str:
    """A Ren'Py line as it is heard.

    >>> strip_renpy('{b}Hi{/b}, [player]{w} {{ok}', {"player": "Sam"}, "d.tab", 2)
    'Hi, Sam {ok}'
    """

    def one(m: re.Match[str]) -> str:
        token = m.group(0)
        if token in ("{{", "[["):
            return token[0]
        if m.group(2) is not None:
            return _RENPY_ESCAPES.get(m.group(2), m.group(2))
        if m.group(1) is not None:
            return _value(m.group(1), variables, token, path, line, unknown)
        return ""  # a text tag

    _unclosed(_RENPY.sub("", text), _RENPY_OPEN, path, line)
    return _RENPY.sub(one, text)


def strip_yarn(
    text: str,
    variables: Mapping[str, str],
    path: str,
    line: int,
    unknown: list[UnknownVariable] | None = None,
) -> str:
    """A Yarn Spinner line as it is heard.

    >>> strip_yarn('[b]Hey[/b] {$name}, [wave=2]look[/wave]\\\\[sic]', {"name": "Sam"}, "a.yarn", 4)
    'Hey Sam, look[sic]'
    """

    def one(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return m.group(1)
        if m.group(2) is not None:
            return _value(m.group(2), variables, m.group(0), path, line, unknown)
        return ""  # markup

    _unclosed(_YARN.sub("", text), _YARN_OPEN, path, line)
    return _YARN.sub(one, text)
