"""Dialogue tables (``.csv``, ``.tsv``, ``format: table``): one row, one line of dialogue.

Columns are found by their header, case-insensitively: id (``id``, ``key``, ``line_id``),
speaker (``character``, ``speaker``, ``name``), text (``text``, ``line``, ``dialogue``), and
optional language, params and notes; ``columns:`` in the episode config names any other header.
Quoted fields and newlines inside them are read by the ``csv`` module.

Rows are read as game teams write them: a row without a speaker whose text starts with
``Name: `` is spoken by Name (Yarn Spinner string tables: ``line:abc123,"Ship: Hey."``); any
other row without a speaker is the narrator's. A Yarn ``#line:`` tag at the end of the text is
the row's id, and other ``#hashtags`` there are metadata, never spoken. Empty rows are skipped.
The id column, or the ``#line:`` tag, is the utterance's uid and must be unique. A row with
text but nothing to speak ("...", or empty after markup) is an ``Unspoken`` line: no file, listed
under the assets manifest's ``missing``.

Ren'Py's dialogue export (``dialogue.tab``: Identifier, Character, Dialogue, Filename, Line
Number[, Ren'Py Script]) is recognized by its header whatever the file is called: tab-separated
and unquoted, ``extend`` continues the previous speaker, a quoted character (``"Eileen"``) is a
name, and Ren'Py text tags and interpolations are handled by :mod:`.markup`. The delimiter of
any other table is sniffed from its header (tab, ``,``, ``;`` or ``|``) unless ``delimiter:``
names it; errors about columns name the delimiter the header was read with.
"""

from __future__ import annotations

import csv
import re

from ttsbuild.core.errors import SourceError
from ttsbuild.core.lines import physical_lines
from ttsbuild.core.text import has_speakable, normalize_text
from ttsbuild.sources.common import SourceOptions, normalize_speaker
from ttsbuild.sources.markup import UnknownVariable, raise_unknown, strip_renpy, strip_yarn
from ttsbuild.sources.script import NARRATOR, ScriptItem, Unspoken, Utterance, unspoken_reason

ROLES = ("id", "speaker", "text", "language", "params", "notes")
_HEADERS = {
    "id": ("id", "key", "line_id", "lineid", "line id", "identifier"),
    "speaker": ("character", "speaker", "name"),
    "text": ("text", "line", "dialogue"),
    "language": ("language", "lang", "locale"),
    "params": ("params", "parameters"),
    "notes": ("notes", "note", "comment", "comments"),
}
_INLINE_SPEAKER = re.compile(r"^(?P<name>[^\W\d][\w .'’-]{0,39}?)\s*:\s+(?P<text>\S.*)$", re.DOTALL)
_TAG_CHARS = re.compile(r"[\w:.\-]")
_LINE_TAG = re.compile(r"#(line:[\w.\-]+)")
#: Ren'Py's dialogue export header (``renpy.exe . dialogue``), the last column in newer versions.
RENPY_HEADER = ("identifier", "character", "dialogue", "filename", "line number")
_DELIMITERS = "\t,;|"
_DELIMITER_NAMES = {"\t": "tab", ",": "','", ";": "';'", "|": "'|'"}
_LANG = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})?$")
_PARAM = re.compile(r"^\s*([A-Za-z_]\w*)\s*[:=]\s*(-?\d+(?:\.\d+)?)\s*$")


def is_renpy_export(first_line: str) -> bool:
    """True for the header of Ren'Py's dialogue export (any file name).

    >>> is_renpy_export("Identifier\\tCharacter\\tDialogue\\tFilename\\tLine Number\\n")
    True
    """
    cells = [c.strip().casefold() for c in first_line.rstrip("\r\n").split("\t")]
    return tuple(cells[:5]) == RENPY_HEADER


def sniff_delimiter(first_line: str, path: str) -> str:
    """The header's separator: the most frequent of tab, ``,``, ``;``, ``|`` outside quotes;
    none of them: tab for ``.tsv``/``.tab``, else ``,``.

    >>> sniff_delimiter("id;character;text", "x.csv"), sniff_delimiter("text", "x.tsv")
    (';', '\\t')
    """
    bare = re.sub(r'"[^"]*"', "", first_line)
    counts = {d: bare.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    if counts[best]:
        return best
    return "\t" if path.lower().endswith((".tsv", ".tab")) else ","


def _columns(
    header: list[str], options: SourceOptions, path: str, delimiter: str = ","
) -> dict[str, int]:
    folded = [normalize_text(h).casefold() for h in header]
    found: dict[str, int] = {}
    for role in ROLES:
        wanted = options.columns.get(role)
        if wanted is not None:
            key = normalize_text(wanted).casefold()
            if key not in folded:
                raise SourceError(
                    f"columns.{role} is {wanted!r}, but the header has no such column "
                    f"(it has: {', '.join(h for h in header if h) or 'nothing'})",
                    path,
                    1,
                )
            found[role] = folded.index(key)
            continue
        for name in _HEADERS[role]:
            if name in folded:
                found[role] = folded.index(name)
                break
    if "text" not in found:
        how = _DELIMITER_NAMES.get(delimiter, repr(delimiter))
        raise SourceError(
            f"no text column: the header, split at {how}, has "
            f"{', '.join(repr(h) for h in header if h) or 'no names'}; name the column 'text', "
            "'line' or 'dialogue', map it with columns: {text: ...}, or set delimiter: in the "
            "episode config",
            path,
            1,
        )
    return found


def _params(cell: str, path: str, line: int) -> tuple[tuple[str, float], ...]:
    out: dict[str, float] = {}
    for part in re.split(r"[|;,]|\s{2,}", cell):
        if not part.strip():
            continue
        m = _PARAM.match(part)
        if not m:
            raise SourceError(
                f"bad parameter {part.strip()!r} in the params column: write name:number, "
                "e.g. speed:0.9|seed:42",
                path,
                line,
            )
        out[m.group(1).lower()] = float(m.group(2))
    return tuple(sorted(out.items()))


def _strip_tags(text: str) -> str:
    """``text`` without the ``#hashtags`` (each after a blank) that end it, scanned once from
    the right (a pattern for "tags to the end" was retried from every blank: quadratic).

    >>> _strip_tags("Hey there. #line:a1 #happy"), _strip_tags("#only")
    ('Hey there.', '#only')
    """
    end = len(text.rstrip())
    kept = len(text)
    while True:
        start = end
        while start and _TAG_CHARS.match(text[start - 1]):
            start -= 1
        if start == end or start < 2 or text[start - 1] != "#" or not text[start - 2].isspace():
            return text[:kept]
        end = start - 1
        while end and text[end - 1].isspace():
            end -= 1
        kept = end


def parse_table(text: str, path: str, options: SourceOptions) -> list[ScriptItem]:
    """A dialogue table to utterances, in row order.

    >>> from ttsbuild.sources.common import default_options
    >>> table = 'id,text\\nline:a1,"Ship: Hey, friend."\\nline:a2,Anything new?\\n'
    >>> [(u.uid, u.speaker, u.text) for u in parse_table(table, "t.csv", default_options())]
    [('line:a1', 'ship', 'Hey, friend.'), ('line:a2', 'narrator', 'Anything new?')]
    """
    text = text.lstrip("\ufeff")
    lines = physical_lines(text, keepends=True)  # never str.splitlines: U+2028, FF, 0x1E...
    renpy = bool(lines) and is_renpy_export(lines[0])
    delimiter = options.delimiter or (
        "\t" if renpy else sniff_delimiter(lines[0] if lines else "", path)
    )
    if renpy:  # Ren'Py writes fields as they are: a quote is part of the text
        reader = csv.reader(lines, delimiter=delimiter, strict=True, quoting=csv.QUOTE_NONE)
    else:
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise SourceError(f"malformed header: {exc}", path, 1) from None
    if header is None or not any(h.strip() for h in header):
        raise SourceError("the table is empty: the first row must name the columns", path, 1)
    cols = _columns(header, options, path, delimiter)
    items: list[ScriptItem] = []
    ids: dict[str, int] = {}
    previous = ""  # the last row's speaker (Ren'Py's ``extend``)
    row_start = reader.line_num + 1
    unknown: list[UnknownVariable] = []  # every row's, reported together at the end
    while True:
        try:
            row = next(reader, None)
        except csv.Error as exc:
            hint = "a quote that is never closed?"
            if renpy or "field limit" in str(exc):  # Ren'Py's export has no quoting
                hint = "one field over the limit: a row whose line end is missing?"
            raise SourceError(
                f"row starting here is malformed: {exc} ({hint})", path, row_start
            ) from None
        if row is None:
            break
        line, row_start = row_start, reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            raise SourceError(
                f"this row has {len(row)} fields, the header has {len(header)} (a "
                f"{'tab' if delimiter == chr(9) else repr(delimiter)} inside a field that is "
                "not quoted?)",
                path,
                line,
            )
        item = _row(row, cols, options, path, line, renpy, previous, unknown)
        if item.uid:
            if item.uid in ids:
                raise SourceError(
                    f"id {item.uid!r} is used twice (first on line {ids[item.uid]}); ids must "
                    "be unique",
                    path,
                    line,
                )
            ids[item.uid] = line
        previous = item.speaker
        items.append(item)
    raise_unknown(unknown)
    return items


def _row(
    row: list[str],
    cols: dict[str, int],
    options: SourceOptions,
    path: str,
    line: int,
    renpy: bool,
    previous: str,
    unknown: list[UnknownVariable],
) -> Utterance | Unspoken:
    """One row: its speaker, text (markup removed), id, language, parameters and note."""

    def cell(role: str) -> str:
        index = cols.get(role)
        return row[index].strip() if index is not None and index < len(row) else ""

    raw = cell("text")
    uid = cell("id")
    tag = _LINE_TAG.search(raw)
    if tag and not uid:
        uid = tag.group(1)
    raw = _strip_tags(raw)
    who = cell("speaker")
    if renpy:
        raw = strip_renpy(raw, options.variables, path, line, unknown)
        who = strip_renpy(who.strip('"'), options.variables, path, line, unknown)
        if who == "extend":
            who = previous
    elif uid.startswith("line:"):
        raw = strip_yarn(raw, options.variables, path, line, unknown)
    speaker = normalize_speaker(who)
    if not speaker:
        m = _INLINE_SPEAKER.match(raw)
        if m:
            speaker, raw = normalize_speaker(m.group("name")), m.group("text")
    said = normalize_text(raw)
    if not has_speakable(said):
        return Unspoken(line, speaker or NARRATOR, said, unspoken_reason(said), uid)
    language = cell("language").lower().replace("_", "-") or None
    if language is not None and not _LANG.match(language):
        raise SourceError(
            f"{language!r} in the language column is not a language code (e.g. en, de, pt-br)",
            path,
            line,
        )
    params = _params(cell("params"), path, line)
    note = normalize_text(cell("notes"))
    return Utterance(line, speaker or NARRATOR, language, params, said, uid, note=note)
