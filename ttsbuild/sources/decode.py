"""Episode source bytes to text: one decoding for scripts and subtitles (pure functions).

The order, first match wins:

1. a byte-order mark (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE);
2. the episode's ``encoding:`` from the config;
3. UTF-16 without a byte-order mark (text whose every other byte is zero: checked before
   UTF-8, because ASCII text in UTF-16 is valid UTF-8 full of NUL characters);
4. strict UTF-8;
5. the encoding ``charset-normalizer`` detects (cp1252, cp1250, ...), logged as a guess.

A file none of these can read is one :class:`LocatedError` of the caller's kind (script or
subtitle) that says to set ``encoding:``.
"""

from __future__ import annotations

import codecs
import logging

from ttsbuild.core.errors import LocatedError

log = logging.getLogger(__name__)

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_source(
    data: bytes, path: str, error: type[LocatedError], encoding: str | None = None
) -> tuple[str, str]:
    """Decode an episode source; returns ``(text, encoding used)``.

    >>> from ttsbuild.core.errors import ScriptError
    >>> decode_source(b"\\xef\\xbb\\xbfHi\\n", "x.txt", ScriptError)
    ('Hi\\n', 'utf-8')
    >>> decode_source("Café".encode("cp1252"), "x.txt", ScriptError, "cp1252")
    ('Café', 'cp1252')
    >>> decode_source("Hello there.".encode("utf-16-le"), "x.txt", ScriptError)
    ('Hello there.', 'utf-16-le')
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            return _decode(data[len(bom) :], name, path, error), name
    if encoding:
        return _decode(data, encoding, path, error), encoding
    utf16 = _utf16_without_bom(data)  # ASCII in UTF-16 is valid UTF-8 too, full of NULs
    if utf16 is None:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    name = utf16 or _detected(data, path, error)
    log.info("ttsbuild: %s: no BOM and not UTF-8; guessed encoding %s", path, name)
    return _decode(data, name, path, error), name


def _utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le``/``-be`` for text in mostly-ASCII UTF-16 without a BOM (every other byte
    zero), else None. charset-normalizer does not detect it reliably."""
    if len(data) < 4 or len(data) % 2:
        return None
    even, odd = data[0::2], data[1::2]
    half = len(data) // 2
    zeros_even, zeros_odd = even.count(0), odd.count(0)
    for zeros, other, name in (
        (zeros_odd, zeros_even, "utf-16-le"),
        (zeros_even, zeros_odd, "utf-16-be"),
    ):
        if zeros >= 0.6 * half and other <= 0.05 * half:
            try:
                data.decode(name)
            except UnicodeDecodeError:
                return None
            return name
    return None


#: Code pages never guessed (DOS, classic Mac OS, EBCDIC): on a short text they tie with the
#: Windows ones and win by chance. ``encoding:`` still selects any of them.
_NOT_GUESSED = [
    *(f"cp{n}" for n in (37, 273, 424, 437, 500, 720, 737, 775, 850, 852, 855, 856, 857, 858)),
    *(f"cp{n}" for n in (860, 861, 862, 863, 864, 865, 866, 869, 874, 875, 1006, 1026, 1125)),
    "cp1140",
    "hp_roman8",
    "kz1048",
    "ptcp154",
    *(f"mac_{n}" for n in ("cyrillic", "greek", "iceland", "latin2", "roman", "turkish")),
]


def _detected(data: bytes, path: str, error: type[LocatedError]) -> str:
    """charset-normalizer's best guess; among equally good guesses, cp1252 (the most common
    legacy encoding of scripts) wins."""
    from charset_normalizer import from_bytes

    matches = from_bytes(data, cp_exclusion=_NOT_GUESSED)
    best = matches.best()
    if best is None or best.encoding is None:
        raise error(
            "not UTF-8 and the text encoding cannot be detected; set 'encoding:' for this "
            "episode (e.g. cp1252) or save the file as UTF-8",
            path,
        )
    tied = {m.encoding for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)}
    name = "cp1252" if "cp1252" in tied else best.encoding
    return name.replace("_", "-")


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
