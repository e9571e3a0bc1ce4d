"""Episode sources to text: one decoding for scripts and subtitles."""

from __future__ import annotations

import logging

import pytest

from ttsbuild.core.errors import ScriptError, SubtitleError
from ttsbuild.sources.decode import decode_source

TEXT = "The narrator opens the café – naïve €5.\n[Alice] Hello Bob.\n"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + TEXT.encode("utf-8"), "utf-8"),
        (TEXT.encode("utf-16"), "utf-16-le"),  # BOM
        (TEXT.encode("utf-16-le"), "utf-16-le"),  # no BOM
        (TEXT.encode("utf-16-be"), "utf-16-be"),  # no BOM
        (TEXT.encode("utf-32"), "utf-32-le"),
        (TEXT.encode("cp1252"), "cp1252"),  # detected
    ],
    ids=["utf8", "utf8-bom", "utf16-bom", "utf16le", "utf16be", "utf32-bom", "cp1252"],
)
def test_every_encoding_reads_the_same_text(data, expected, caplog):
    caplog.set_level(logging.INFO, logger="ttsbuild")
    text, used = decode_source(data, "scripts/ep1.txt", ScriptError)
    assert text == TEXT
    assert used == expected
    guessed = "scripts/ep1.txt: no BOM and not UTF-8; guessed encoding"
    assert (guessed in caplog.text) == (
        expected not in ("utf-8",) and data[:2] not in (b"\xff\xfe",)
    )


def test_the_episode_encoding_wins_over_detection_and_a_bom_over_both():
    data = "Zażółć gęślą jaźń.\n".encode("cp1250")
    assert decode_source(data, "x.txt", ScriptError, "cp1250")[0] == "Zażółć gęślą jaźń.\n"
    bom = b"\xef\xbb\xbf" + "Łódź\n".encode()
    assert decode_source(bom, "x.txt", ScriptError, "cp1250") == ("Łódź\n", "utf-8")


def test_errors_are_of_the_callers_kind_with_the_place():
    with pytest.raises(ScriptError, match=r"^x\.txt:2: not valid utf-8 \(byte 0xe9\)"):
        decode_source(b"Fine.\nCaf\xe9\n", "x.txt", ScriptError, "utf-8")
    with pytest.raises(SubtitleError, match=r"^x\.srt: unknown text encoding 'nope'"):
        decode_source(b"1\n", "x.srt", SubtitleError, "nope")
