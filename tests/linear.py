"""Linear-time checks for readers that do not depend on the clock (issue 25, finding 5).

Two instruments, both deterministic:

- :func:`operations` counts the Python lines a call executes in ttsbuild (``sys.settrace``
  line events): a loop that rescans what it already read (the FDX element stack, a text
  rebuilt per note in Python) grows faster than its input;
- :func:`backtracking_shapes` reads a module's regular expressions (``re._parser``) and names
  each one that has the shape that backtracks super-linearly: two unbounded repeats that can
  match the same characters with nothing between them that only one of them can match
  (``[^a-z]*?[A-Z][^a-z]*?``, ``[^_]*\\s[^_]*``), or a repeated group that starts with an
  unbounded repeat (``(?:\\s+#\\w+)+``, retried from every blank). Work
  inside the regex engine is invisible to the line counter, so this is the check for it.
"""

from __future__ import annotations

import re
import re._constants as C  # noqa: N812
import re._parser as P  # noqa: N812
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

PACKAGE = str(Path(__file__).resolve().parent.parent / "ttsbuild")
_SAMPLE = [chr(i) for i in range(0x250)] + ["\u2028", "\u00a0", "\u3000", "日", "’"]


def operations(fn: Callable[[], Any]) -> int:
    """How many lines of ttsbuild's code ``fn()`` executes."""
    count = 0

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename.startswith(PACKAGE) else None

    sys.settrace(tracer)
    try:
        fn()
    finally:
        sys.settrace(None)
    return count


def growth(make: Callable[[int], Callable[[], Any]], n: int) -> float:
    """Operations at 10n over operations at n (about 10 for a linear reader)."""
    return operations(make(10 * n)) / max(1, operations(make(n)))


def _category(cat: Any, c: str) -> bool:
    table = {
        C.CATEGORY_SPACE: c.isspace(),
        C.CATEGORY_NOT_SPACE: not c.isspace(),
        C.CATEGORY_DIGIT: c.isdecimal(),
        C.CATEGORY_NOT_DIGIT: not c.isdecimal(),
        C.CATEGORY_WORD: c.isalnum() or c == "_",
        C.CATEGORY_NOT_WORD: not (c.isalnum() or c == "_"),
    }
    return table.get(cat, True)


def _member(op: Any, av: Any, c: str, fold: bool) -> bool | None:
    """Whether one single-character item matches ``c`` (None: not a single-character item)."""
    cs = {x for x in (c, c.lower(), c.upper()) if len(x) == 1} if fold else {c}  # "ß".upper()
    if op is C.LITERAL:
        return any(ord(x) == av for x in cs)
    if op is C.NOT_LITERAL:
        return all(ord(x) != av for x in cs)
    if op is C.ANY:
        return c != "\n"
    if op is C.CATEGORY:
        return _category(av, c)
    if op is C.IN:
        negate = bool(av) and av[0][0] is C.NEGATE
        hit = False
        for sub_op, sub_av in av[1:] if negate else av:
            if sub_op is C.RANGE:
                hit = hit or any(sub_av[0] <= ord(x) <= sub_av[1] for x in cs)
            else:
                hit = hit or bool(_member(sub_op, sub_av, c, fold))
        return hit != negate
    return None


def _charset(items: Any, fold: bool) -> frozenset[str] | None:
    """The characters a one-item pattern matches, over a sample alphabet (None if not one)."""
    if len(items) != 1:
        return None
    op, av = items[0]
    if _member(op, av, "a", fold) is None:
        return None
    return frozenset(c for c in _SAMPLE if _member(op, av, c, fold))


def _unbounded(op: Any, av: Any) -> bool:
    return op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT) and av[1] == C.MAXREPEAT


def _walk(seq: Any, fold: bool, inside_repeat: bool, found: list[str]) -> None:
    items = list(seq)
    for i, (op, av) in enumerate(items):
        if op in (C.MAX_REPEAT, C.MIN_REPEAT):
            body = list(av[2])
            while body and body[0][0] is C.SUBPATTERN:
                body = list(body[0][1][3])
            if _unbounded(op, av) and body and _unbounded(*body[0]):
                found.append("an unbounded repeat that starts with an unbounded repeat")
            _walk(av[2], fold, inside_repeat or _unbounded(op, av), found)
            if _unbounded(op, av):
                _ambiguous_after(items, i, fold, found)
        elif op is C.SUBPATTERN:
            _walk(av[3], fold, inside_repeat, found)
        elif op is C.BRANCH:
            for branch in av[1]:
                _walk(branch, fold, inside_repeat, found)
        elif op in (C.ASSERT, C.ASSERT_NOT):
            _walk(av[1], fold, inside_repeat, found)


def _ambiguous_after(items: list[Any], i: int, fold: bool, found: list[str]) -> None:
    first = _charset(items[i][1][2], fold)
    if first is None:
        return
    between: list[frozenset[str]] = []
    for op, av in items[i + 1 :]:
        if op is C.AT:
            continue  # zero-width
        if _unbounded(op, av):
            second = _charset(av[2], fold)
            shared = first & second if second is not None else frozenset()
            if shared and all(b & first and b & second for b in between):
                found.append("two unbounded repeats that can match the same characters")
            return
        one = _charset([(op, av)], fold)
        if one is None:
            return
        between.append(one)


def backtracking_shapes(module: ModuleType) -> list[str]:
    """``name: shape`` for every module-level pattern of ``module`` with a backtracking shape."""
    found: list[str] = []
    for name, value in vars(module).items():
        if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
            shapes: list[str] = []
            tree = P.parse(value.pattern, value.flags)
            _walk(tree.data, bool(value.flags & re.IGNORECASE), False, shapes)
            found.extend(f"{name}: {shape}" for shape in sorted(set(shapes)))
    return found
