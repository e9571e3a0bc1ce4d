"""Bytes to text for every episode source that is not a bracket script (one function, shared).

The order: a BOM (UTF-8/16/32) wins; else an explicit ``encoding`` (the episode's
``encoding:``); else strict UTF-8; else the encoding ``charset-normalizer`` detects (cp1252,
cp1250, ...). Subtitles, dialogue tables and Fountain and play texts are all read this way.
"""

from __future__ import annotations

import codecs
import logging

from ttsbuild.core.errors import LocatedError, SourceError

log = logging.getLogger(__name__)

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_source(
    data: bytes,
    path: str,
    encoding: str | None = None,
    error: type[LocatedError] = SourceError,
) -> tuple[str, str]:
    """Decode a source file's bytes; returns ``(text, encoding used)``.

    Problems raise ``error`` (a :class:`LocatedError` subclass) naming ``path`` and, for bytes
    that do not decode, the line.

    >>> decode_source(b"\\xef\\xbb\\xbf1\\n", "x.csv")
    ('1\\n', 'utf-8')
    >>> decode_source("Café".encode("cp1252"), "x.csv", "cp1252")
    ('Café', 'cp1252')
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            return _decode(data[len(bom) :], name, path, error), name
    if encoding:
        return _decode(data, encoding, path, error), encoding
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise error(
            "cannot tell the text encoding; set 'encoding:' for this episode (e.g. cp1252)", path
        )
    name = best.encoding.replace("_", "-")
    log.info("ttsbuild: %s: no BOM and not UTF-8; detected encoding %s", path, name)
    return _decode(data, name, path, error), name


def _decode(data: bytes, encoding: str, path: str, error: type[LocatedError]) -> str:
    try:
        return data.decode(encoding)
    except LookupError:
        raise error(f"unknown text encoding {encoding!r}", path) from None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(
            f"not valid {encoding} (byte 0x{data[exc.start]:02x}); fix 'encoding:' for this "
            "episode or save the file as UTF-8",
            path,
            line,
        ) from None
