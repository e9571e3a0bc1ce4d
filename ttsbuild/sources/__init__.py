"""Stage 1, sources: every format an episode can be written in, read into one value.

Each format has a pure parser ``parse_<format>(text, path, options) -> list[ScriptItem]`` in
its own module (:mod:`.fountain`, :mod:`.fdx`, :mod:`.play`, :mod:`.table`, :mod:`.yarn`); bracket scripts
and subtitles are read by :mod:`ttsbuild.sources.script` and :mod:`ttsbuild.sources.subtitles`. Every source
yields :class:`ttsbuild.sources.script.Utterance` and :class:`ttsbuild.sources.script.Pause` items, each
utterance with a stable ``uid`` (:mod:`.identity`).

:func:`read_items` is the one entry point: it picks the format by the episode's ``format:``
or the file's extension, reads and decodes the file, and parses all of it before anything is
planned, so a malformed line stops the build before any render.

Owns: decoding of source files, the script language, the other formats' parsers, speaker-name
normalization and stable line identity. Pure functions; no engine.
May import: :mod:`ttsbuild.core`, :mod:`ttsbuild.config`.
"""

from __future__ import annotations

from pathlib import Path

from ttsbuild.core.errors import SourceError, read_source
from ttsbuild.core.lines import refuse_controls
from ttsbuild.sources.common import SourceOptions, default_options, normalize_speaker
from ttsbuild.sources.identity import assign_uids
from ttsbuild.sources.script import ScriptItem

FORMATS = ("script", "srt", "fountain", "fdx", "play", "table", "yarn")
EXTENSIONS = {
    ".txt": "script",
    ".script": "script",
    "": "script",
    ".srt": "srt",
    ".fountain": "fountain",
    ".spmd": "fountain",
    ".fdx": "fdx",
    ".csv": "table",
    ".tsv": "table",
    ".tab": "table",
    ".yarn": "yarn",
}
#: Formats :func:`read_items` reads (scripts and subtitles have readers of their own).
ITEM_FORMATS = ("fountain", "fdx", "play", "table", "yarn")


def source_format(source: str, explicit: str | None = None) -> str | None:
    """The format of an episode source: ``explicit`` if given, else by extension (or None).

    >>> source_format("scripts/ep1.fountain"), source_format("plays/earnest.txt", "play")
    ('fountain', 'play')
    """
    if explicit:
        return explicit
    return EXTENSIONS.get(Path(source).suffix.lower())


def sniff_format(path: str | Path, fmt: str | None) -> str | None:
    """The format by content where the extension does not say, or says only "text": a file
    that starts with Ren'Py's dialogue export header is a table, whatever it is called.
    ``fmt`` is the format by name (explicit or by extension); an explicit one is never
    second-guessed by the caller, who passes it through."""
    from ttsbuild.sources.table import is_renpy_export

    if fmt not in (None, "script") or not Path(path).is_file():
        return (
            fmt  # a FIFO or a device is never opened here (it could block): read_source refuses it
        )
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return fmt
    first = head.decode("utf-8", "replace").lstrip("\ufeff").split("\n", 1)[0]
    return "table" if is_renpy_export(first) else fmt


def parse_source(
    data: bytes, fmt: str, path: str, options: SourceOptions
) -> tuple[ScriptItem, ...]:
    """Parse a source's bytes in one of the formats of this package; uids assigned."""
    if fmt == "fdx":
        from ttsbuild.sources.fdx import parse_fdx

        return assign_uids(parse_fdx(data, path, options), path)
    from ttsbuild.sources.decode import decode_source

    text, _ = decode_source(data, path, SourceError, options.encoding)
    refuse_controls(text, path, SourceError)  # one policy for every reader (core/lines.py)
    if fmt == "fountain":
        from ttsbuild.sources.fountain import parse_fountain

        items = parse_fountain(text, path, options)
    elif fmt == "play":
        from ttsbuild.sources.play import parse_play

        items = parse_play(text, path, options)
    elif fmt == "table":
        from ttsbuild.sources.table import parse_table

        items = parse_table(text, path, options)
    elif fmt == "yarn":
        from ttsbuild.sources.yarn import parse_yarn

        items = parse_yarn(text, path, options)
    else:
        raise SourceError(f"format {fmt!r} is not read by ttsbuild.sources", path)
    return assign_uids(items, path)


def read_items(
    path: str | Path, fmt: str | None, options: SourceOptions, display: str | None = None
) -> tuple[ScriptItem, ...]:
    """Read a whole episode source (Fountain, Final Draft, play or table) into items.

    ``fmt`` is the episode's ``format:`` (None: by extension). Errors are
    :class:`SourceError` naming ``display`` (the path as the config writes it) and the line.
    """
    shown = display or str(path)
    chosen = source_format(shown, fmt)
    if fmt is None:
        chosen = sniff_format(path, chosen)
    if chosen not in ITEM_FORMATS:
        raise SourceError(
            f"cannot read {Path(shown).suffix or 'this file'} as an episode source here; "
            "set 'format:' to fountain, fdx, play, table or yarn",
            shown,
        )
    data = read_source(path, shown, SourceError, chosen)
    return parse_source(data, chosen, shown, options)


__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "ITEM_FORMATS",
    "SourceOptions",
    "assign_uids",
    "default_options",
    "normalize_speaker",
    "read_items",
    "sniff_format",
    "source_format",
]
