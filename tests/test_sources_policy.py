"""One policy for every reader (issue 25, findings 7-9): physical lines only, control characters
refused with file:line, headings only where the format puts them, an unclosed bracket warned
and confined to its line, FDX encodings and DualDialogue wrappers."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ttsbuild.core.errors import SourceError
from ttsbuild.core.lines import physical_lines
from ttsbuild.sources import parse_source
from ttsbuild.sources.common import default_options
from ttsbuild.sources.script import Utterance

OPTIONS = default_options()


def _said(fmt: str, text: str | bytes, options=OPTIONS) -> list[tuple[int, str, str]]:
    data = text.encode() if isinstance(text, str) else text
    items = parse_source(data, fmt, f"x.{fmt}", options)
    return [(u.line, u.speaker, u.text) for u in items if isinstance(u, Utterance)]  # no breaks


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085", "\x1c"])
def test_table_cells_keep_text_after_unicode_separators(separator):
    """Finding 7: str.splitlines cut the row at U+2028 (and shifted later rows' lines)."""
    table = f'id,character,text\na1,Ann,"Hello{separator}there, friend"\na2,Bob,Second.\n'
    if separator in "\u0085\x1c":  # C1/C0 controls: refused, on the right line
        with pytest.raises(SourceError, match=r"x\.table:2: control character"):
            _said("table", table)
        return
    rows = _said("table", table)
    assert rows[0][0] == 2 and rows[0][2].endswith("there, friend")
    assert rows[1] == (3, "bob", "Second.")


@pytest.mark.parametrize("fmt", ["fountain", "play", "table"])
@pytest.mark.parametrize("char", ["\x00", "\x07", "\x0c", "\x1e", "\x9b"])
def test_control_characters_are_refused_with_file_and_line(fmt, char):
    """Finding 9: NUL and BEL reached the engine from Fountain and plays; tables dropped them."""
    body = {
        "fountain": f"\nBOB\nHi{char}there.\n",
        "play": f"\nHAMLET:\nHi{char}there.\n",
        "table": f"id,text\n\na,Hi{char}there.\n",
    }[fmt]
    with pytest.raises(SourceError) as err:
        _said(fmt, body)
    assert str(err.value).startswith(f"x.{fmt}:3: control character U+{ord(char):04X}")


def test_fdx_control_character_is_refused():
    doc = '<FinalDraft><Content><Paragraph Type="Action"><Text>Hi\u0085</Text></Paragraph>'
    with pytest.raises(SourceError, match="control character U\\+0085"):
        _said("fdx", doc + "</Content></FinalDraft>")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab\n\r\u2028\x0c\x1e\u0085 ", max_size=30))
def test_one_line_splitter_numbers_lines_as_editors_do(text):
    """Property: physical lines split at \\n, \\r\\n, \\r only, and join back to the text."""
    lines = physical_lines(text, keepends=True)
    assert "".join(lines) == text
    assert all(not ln.rstrip("\r\n").count("\n") and "\r" not in ln.rstrip("\r\n") for ln in lines)
    assert [ln.rstrip("\r\n") for ln in lines] == physical_lines(text)


@pytest.mark.parametrize(
    "paragraph",
    [
        "Act now, before the guards return.",
        "End of all our hopes, my lord.",
        "Curtain rods and candles, that is all.",
        "Scene of the crime, you said?",
        "Prologue to a war, this is.",
    ],
)
def test_play_continuation_paragraphs_are_not_headings(paragraph):
    """Finding 8: a speech paragraph starting with Act, End of, Curtain... was dropped."""
    play = f"HAMLET:\nFirst words.\n\n{paragraph}\n"
    assert [t for _, _, t in _said("play", play)] == ["First words.", paragraph]


@pytest.mark.parametrize("heading", ["ACT I", "SCENE 2. A room.", "Act III", "Scene 4", "Curtain."])
def test_play_headings_are_still_headings(heading):
    play = f"HAMLET:\nFirst words.\n\n{heading}\n\nHAMLET:\nAfter.\n"
    assert [t for _, _, t in _said("play", play)] == ["First words.", "After."]


def test_unclosed_bracket_is_warned_and_ends_at_its_line(caplog):
    """Finding 8: an unclosed '[' dropped the rest of the speech across lines, silently."""
    play = "HAMLET:\nFirst line. [Aside\nSecond line, still spoken.\n"
    with caplog.at_level(logging.WARNING):
        said = [t for _, _, t in _said("play", play)]
    assert said == ["First line.", "Second line, still spoken."]  # direction splits (issue 26)
    assert "x.play:2: '[' is never closed" in caplog.text


def test_fdx_declaring_shift_jis_is_read():
    """Finding 9: encoding="shift_jis" was "internal error: ValueError", exit 3."""
    doc = (
        '<?xml version="1.0" encoding="shift_jis"?><FinalDraft><Content>'
        '<Paragraph Type="Character"><Text>ANN</Text></Paragraph>'
        '<Paragraph Type="Dialogue"><Text>こんにちは。</Text></Paragraph></Content></FinalDraft>'
    )
    assert _said("fdx", doc.encode("shift_jis")) == [(1, "ann", "こんにちは。")]


@pytest.mark.parametrize(
    "declared,message",
    [("klingon", "unknown text encoding 'klingon'"), ("ascii", "not well-formed")],
)
def test_fdx_bad_declared_encoding_is_one_line(declared, message):
    doc = f'<?xml version="1.0" encoding="{declared}"?><FinalDraft><Content>'
    doc += '<Paragraph Type="Action"><Text>Café</Text></Paragraph></Content></FinalDraft>'
    with pytest.raises(SourceError, match=message):
        _said("fdx", doc.encode("utf-8"))


def test_fdx_typed_dialogue_wrapping_dual_dialogue_speaks_in_order():
    """Finding 9: a Dialogue paragraph holding a DualDialogue was spoken after its contents."""
    doc = (
        '<FinalDraft><Content><Paragraph Type="Character"><Text>ZED</Text></Paragraph>'
        '<Paragraph Type="Dialogue"><Text>First.</Text><DualDialogue>'
        '<Paragraph Type="Character"><Text>ANN</Text></Paragraph>'
        '<Paragraph Type="Dialogue"><Text>One.</Text></Paragraph>'
        '<Paragraph Type="Character"><Text>BOB</Text></Paragraph>'
        '<Paragraph Type="Dialogue"><Text>Two.</Text></Paragraph>'
        "</DualDialogue></Paragraph></Content></FinalDraft>"
    )
    assert [(s, t) for _, s, t in _said("fdx", doc)] == [
        ("zed", "First."),
        ("ann", "One."),
        ("bob", "Two."),
    ]
