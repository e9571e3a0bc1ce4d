"""Yarn Spinner scripts (``.yarn``, ``format: yarn``): every line of every node, in file order.

A file is a list of nodes: header lines (``title: Start``, ``tags:``, ``position:``...) up to
``---``, then the body up to ``===``. In a body:

- ``Name: text #line:id #tag // note`` is a line spoken by Name (no ``Name:``: the narrator);
  ``#line:`` gives its id, other hashtags are metadata, and the writers' ``// note`` after it
  is kept as the line's note (direction in the assets manifest), never spoken;
- ``-> text`` (an option) and ``=> text`` (a line group item) are lines too, their
  ``<<if ...>>`` condition dropped;
- ``<<commands>>``, ``//`` and ``///`` comment lines are never spoken;
- markup and interpolations are handled by :func:`ttsbuild.sources.markup.strip_yarn`.

Every branch is read: a voice build needs every line a player can reach, so ``<<if>>`` and
``<<else>>`` branches and all options are spoken in file order.
"""

from __future__ import annotations

import re

from ttsbuild.core.errors import SourceError
from ttsbuild.core.lines import physical_lines  # the one line splitter
from ttsbuild.core.text import has_speakable, normalize_text
from ttsbuild.sources.common import SourceOptions, normalize_speaker
from ttsbuild.sources.markup import UnknownVariable, raise_unknown, strip_yarn
from ttsbuild.sources.script import NARRATOR, ScriptItem, Unspoken, Utterance, unspoken_reason

_HEADER = re.compile(r"^\s*([A-Za-z_][\w.-]*)\s*:(.*)$")
_COMMENT = re.compile(r"(?<!\\)//")
_LINE_ID = re.compile(r"#(line:[^\s#]+)")
_SPEAKER = re.compile(r"^(?P<name>[^\W\d][\w .'’-]{0,39}?)\s*(?<!\\):\s*(?P<text>.*)$", re.DOTALL)


def parse_yarn(text: str, path: str, options: SourceOptions) -> list[ScriptItem]:
    """Every line of a Yarn script, in file order.

    >>> from ttsbuild.sources.common import default_options
    >>> yarn = "title: Start\\n---\\n<<wait 1>>\\nTom: [b]Hi[/b]! #line:t1 // warm\\n-> Bye.\\n===\\n"
    >>> [(u.uid, u.speaker, u.text, u.note) for u in parse_yarn(yarn, "a.yarn", default_options())]
    [('line:t1', 'tom', 'Hi!', 'warm'), ('', 'narrator', 'Bye.', '')]
    """
    items: list[ScriptItem] = []
    node_start = 0  # the line of the current node's first header (0: between nodes)
    title = ""
    in_body = False
    open_ifs: list[int] = []  # the lines of the <<if>> blocks open in this body
    unknown: list[UnknownVariable] = []  # every line's, reported together at the end
    for number, raw in enumerate(physical_lines(text.lstrip("\ufeff")), 1):
        stripped = raw.strip()
        if in_body:
            if stripped == "===":
                if open_ifs:
                    raise SourceError(
                        f"this <<if>> is never closed with <<endif>> before node {title!r} "
                        "ends ('===')",
                        path,
                        open_ifs[-1],
                    )
                in_body, node_start, title = False, 0, ""
            elif stripped.startswith("<<"):
                _control_flow(stripped, open_ifs, path, number)
            elif stripped:
                item = _body_line(stripped, path, number, options, unknown)
                if item is not None:
                    items.append(item)
            continue
        if not stripped or stripped.startswith("//") or (not node_start and stripped[0] == "#"):
            continue  # blank, a comment, or a file tag before a node
        if stripped == "---":
            if not title:
                raise SourceError(
                    "a node body starts here, but the node has no 'title:' header",
                    path,
                    number,
                )
            in_body = True
            continue
        header = _HEADER.match(raw)
        if header is None:
            raise SourceError(
                f"expected a node header ('title: Name') or '---', found {stripped[:40]!r}",
                path,
                number,
            )
        node_start = node_start or number
        if header.group(1) == "title":
            title = header.group(2).strip()
    if in_body:
        raise SourceError(
            f"node {title!r} is never closed: end its body with a line '==='", path, node_start
        )
    if node_start:
        raise SourceError(
            "this node header is never followed by '---' (a Yarn node is 'title: Name', "
            "'---', its lines, '===')",
            path,
            node_start,
        )
    raise_unknown(unknown)
    return items


def _body_line(
    line: str, path: str, number: int, options: SourceOptions, unknown: list[UnknownVariable]
) -> Utterance | Unspoken | None:
    """One body line: None for a command or a comment, else the line (or an unspoken one)."""
    if line.startswith("//"):
        return None
    if line.startswith(("->", "=>")):
        line = line[2:].strip()
    note = ""
    comment = _COMMENT.search(line)
    if comment:
        note = normalize_text(line[comment.end() :].lstrip("/"))
        line = line[: comment.start()]
    line = _drop_commands(line, path, number)
    tag = _LINE_ID.search(line)
    uid = tag.group(1) if tag else ""
    line = _drop_hashtags(line)
    speaker = NARRATOR
    m = _SPEAKER.match(line)
    if m:
        speaker, line = normalize_speaker(m.group("name")), m.group("text")
    said = normalize_text(strip_yarn(line, options.variables, path, number, unknown))
    if not has_speakable(said):
        return Unspoken(number, speaker, said, unspoken_reason(said), uid)
    return Utterance(number, speaker, None, (), said, uid, note=note)


_IF = re.compile(r"^<<\s*(if|elseif|else|endif)\b")


def _control_flow(line: str, open_ifs: list[int], path: str, number: int) -> None:
    """A command line: never spoken; its ``<<if>>`` blocks must balance within the node."""
    if line.find(">>", 2) < 0:
        raise SourceError("this command's '<<' is never closed with '>>'", path, number)
    m = _IF.match(line)
    if m is None:
        return
    word = m.group(1)
    if word == "if":
        open_ifs.append(number)
    elif not open_ifs:
        raise SourceError(f"<<{word}>> without an <<if>> before it in this node", path, number)
    elif word == "endif":
        open_ifs.pop()


def _drop_commands(line: str, path: str, number: int) -> str:
    """The line without its inline ``<<...>>`` (an option's condition), in one pass."""
    out, at = [], 0
    while (start := line.find("<<", at)) >= 0:
        end = line.find(">>", start + 2)
        if end < 0:
            raise SourceError("this command's '<<' is never closed with '>>'", path, number)
        out.append(line[at:start])
        at = end + 2
    out.append(line[at:])
    return " ".join(out)


def _drop_hashtags(line: str) -> str:
    """The line without the ``#tags`` that end it (metadata, never spoken).

    >>> _drop_hashtags("Hey. #line:a1 #happy")
    'Hey.'
    """
    words = line.split()
    while words and words[-1].startswith("#"):
        words.pop()
    return " ".join(words)
