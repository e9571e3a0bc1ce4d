"""Stable identities for utterances (``Utterance.uid``), pure.

An utterance keeps the id its source gives it (a dialogue table's id column, a Yarn
``#line:`` tag). Otherwise its uid is derived from what it is, not where it is::

    u<first 10 hex digits of sha256("speaker\\x1ftext")>[-<n>]

with the text normalized (NFC, whitespace collapsed, case-folded, curly quotes folded) so
that re-wrapping a speech or retyping a quote does not change it. The n-th repeat of the same
speaker and text in one episode gets ``-n`` (n >= 2), counted from the top. So editing,
inserting or deleting one speech changes no other speech's uid, except that of a later
*identical* speech (same speaker, same words), whose occurrence number shifts.

An id names one line only: an explicit id used twice, or equal to the id derived for another
line, is refused with one error naming both lines (two lines would share one voice file).
Lines with nothing to say (:class:`~ttsbuild.sources.script.Unspoken`) get uids the same way.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable

from ttsbuild.core.errors import SourceError
from ttsbuild.core.text import normalize_text
from ttsbuild.sources.script import ScriptItem, Unspoken, Utterance

_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'})


def derived_uid(speaker: str, text: str) -> str:
    """The content part of a derived uid.

    >>> derived_uid("alice", "Hello  there.") == derived_uid("alice", "hello there.")
    True
    """
    key = f"{speaker.casefold()}\x1f{normalize_text(text.translate(_QUOTES)).casefold()}"
    return "u" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]


def assign_uids(items: Iterable[ScriptItem], path: str = "") -> tuple[ScriptItem, ...]:
    """Give every utterance without a uid its derived one (see the module docstring).

    >>> from ttsbuild.sources.script import Utterance
    >>> a = Utterance(1, "bob", None, (), "Hi.")
    >>> [u.uid for u in assign_uids([a, a])] == [derived_uid("bob", "Hi."),
    ...                                          derived_uid("bob", "Hi.") + "-2"]
    True
    """
    items = list(items)
    explicit: dict[str, int] = {}
    for item in items:
        if isinstance(item, Utterance | Unspoken) and item.uid:
            if item.uid in explicit:
                raise SourceError(
                    f"id {item.uid!r} is used twice (first on line {explicit[item.uid]}); "
                    "ids must be unique",
                    path,
                    item.line,
                )
            explicit[item.uid] = item.line
    seen: dict[str, int] = {}
    out: list[ScriptItem] = []
    for item in items:
        if isinstance(item, Utterance | Unspoken) and not item.uid:
            base = derived_uid(item.speaker, item.text)
            seen[base] = seen.get(base, 0) + 1
            uid = base if seen[base] == 1 else f"{base}-{seen[base]}"
            if uid in explicit:
                raise SourceError(
                    f"the id derived for this line, {uid!r}, is the explicit id of line "
                    f"{explicit[uid]}: two lines would share one id; give this line an id of "
                    "its own or change the other",
                    path,
                    item.line,
                )
            item = dataclasses.replace(item, uid=uid)
        out.append(item)
    return tuple(out)
