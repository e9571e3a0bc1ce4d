"""Every reader is linear in its input, without a clock (issue 25, finding 5): operation counts
at n and 10n (tests/linear.py), and no regular expression of a reader has the shape that
backtracks super-linearly. bench/parsers.py prints the times of the same shapes."""

from __future__ import annotations

import importlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.linear import backtracking_shapes, growth
from ttsbuild.core.errors import SourceError
from ttsbuild.sources import parse_source
from ttsbuild.sources.common import default_options
from ttsbuild.sources.script import parse_script
from ttsbuild.sources.subtitles import parse_srt

OPTIONS = default_options()


def _reader(fmt: str, make):
    return lambda n: lambda: parse_source(make(n).encode(), fmt, f"x.{fmt}", OPTIONS)


def _refusing(fmt: str, make):
    """A shape the reader refuses (unclosed markup): reaching the refusal is linear too."""

    def run(n):
        def read():
            with pytest.raises(SourceError):
                parse_source(make(n).encode(), fmt, f"x.{fmt}", OPTIONS)

        return read

    return run


def _fdx(body: str) -> str:
    return f"<FinalDraft><Content>{body}</Content></FinalDraft>"


SHAPES = {
    "fountain-dialogue": _reader(
        "fountain", lambda n: "".join(f"\nBOB\n(quietly)\nLine {i} *here*.\n" for i in range(n))
    ),
    "fountain-capitals": _reader("fountain", lambda n: "\n" + "A" * (40 * n) + "a\nx\n"),
    "fountain-A(": _reader("fountain", lambda n: "\nA" + " (A" * (10 * n) + "\nx\n"),
    "fountain-notes": _reader("fountain", lambda n: "[[note]]\n" * (20 * n) + "Action.\n"),
    "fountain-notes-one-line": _reader("fountain", lambda n: "[[n]] " * (20 * n) + "Act.\n"),
    "fdx-dialogue": _reader(
        "fdx",
        lambda n: _fdx(
            '<Paragraph Type="Character"><Text>ANN</Text></Paragraph>'
            '<Paragraph Type="Dialogue"><Text>Hi.</Text></Paragraph>' * n
        ),
    ),
    "fdx-nested": _reader("fdx", lambda n: _fdx("<x>" * (20 * n) + "</x>" * (20 * n))),
    "play-speeches": _reader("play", lambda n: "HAMLET:\nMy lord. [Aside.]\n\n" * n),
    "play-italic-paragraph": _reader("play", lambda n: "_A " + "word " * (40 * n) + "\n"),
    "play-unclosed-brackets": _reader("play", lambda n: "HAMLET:\n" + "[Exit\n" * n),
    "table-rows": _reader("table", lambda n: "id,text\n" + "".join(f"a{i},Hi {i}.\n" for i in range(n))),
    "table-hashtags": _reader("table", lambda n: "id,text\na,Hi" + " #t" * (20 * n) + " x\n"),
    "table-yarn-markup": _refusing("table", lambda n: "id,text\nline:a,Hi" + " [a=" * (20 * n) + "\n"),
    "script-lines": lambda n: lambda: parse_script("[Alice] Hi there.\nThe narrator.\n" * n, "x"),
    "srt-cues": lambda n: lambda: parse_srt(
        "".join(f"{i + 1}\n00:00:01,000 --> 00:00:02,000\nLine {i}.\n\n" for i in range(n))
    ),
}  # fmt: skip


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPES)
def test_reader_operations_grow_linearly(shape):
    """10x the input costs at most ~12x the operations (a quadratic loop costs ~100x)."""
    assert growth(SHAPES[shape], 30) < 13


READERS = [
    "fountain",
    "fdx",
    "play",
    "table",
    "yarn",
    "markup",
    "script",
    "subtitles",
    "common",
    "decode",
]
#: Patterns with the shape that are linear for a reason the shape check cannot see.
BENIGN = {
    # anchored, matched once per line, and its second repeat is only followed by "$"
    "subtitles._TIMING",
}


@pytest.mark.parametrize("module", READERS)
def test_no_reader_pattern_backtracks_super_linearly(module):
    mod = importlib.import_module(f"ttsbuild.sources.{module}")
    found = [f for f in backtracking_shapes(mod) if f"{module}.{f.split(':')[0]}" not in BENIGN]
    assert found == []


def test_the_shape_check_finds_the_patterns_of_issue_25():
    """The check itself can fail: the patterns the readers had before issue 25."""
    import types

    old = types.ModuleType("old")
    old.CUE = re.compile(r"^(?P<name>[^a-z]*?[A-Z][^a-z]*?)(?P<ext>\s*\(.*\))?\s*(?P<dual>\^)?$")
    old.ITALIC = re.compile(r"(?<![\w\\])_[A-Z][^_]*\s[^_]*_(?!\w)\.?")
    old.TAGS = re.compile(r"(?:\s+#[\w:.\-]+)+\s*$")
    old.FINE = re.compile(r"(?<![\w\\])_[A-Z][^_\s]*\s[^_]*_(?!\w)\.?")
    assert [f.split(":")[0] for f in backtracking_shapes(old)] == ["CUE", "ITALIC", "TAGS"]


_OLD_CUE = re.compile(r"^(?P<name>[^a-z]*?[A-Z][^a-z]*?)(?P<ext>\s*\(.*\))?\s*(?P<dual>\^)?$")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ABab (.)^'1 -", max_size=14))
def test_cue_scan_matches_the_old_pattern(line):
    """Differential: the linear cue test accepts exactly the lines the old pattern matched."""
    from ttsbuild.sources.fountain import _is_cue

    s = line.strip()
    assert _is_cue(s) == bool(_OLD_CUE.match(s))


def _old_remove_spans(text, opener, closer):
    emptied, pos = set(), 0
    while True:
        start = text.find(opener, pos)
        if start == -1:
            return text, emptied
        end = text.find(closer, start + len(opener))
        if end == -1:
            return None
        end += len(closer)
        first = text.count("\n", 0, start)
        last = first + text.count("\n", start, end)
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", end)
        line_end = len(text) if line_end == -1 else line_end
        before, after = text[line_start:start], text[end:line_end]
        if not before.strip() and not after.strip():
            emptied.update(range(first, last + 1))
        elif not before.strip():
            emptied.update(range(first, last))
        elif not after.strip():
            emptied.update(range(first + 1, last + 1))
        else:
            emptied.update(range(first + 1, last))
        text = text[:start] + "\n" * text.count("\n", start, end) + text[end:]
        pos = start


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="a [\n]", max_size=30))
def test_one_pass_note_removal_matches_the_old_one(text):
    """Differential: notes removed in one pass give the old text and emptied lines."""
    from ttsbuild.core.errors import SourceError
    from ttsbuild.sources.fountain import _remove_spans

    expected = _old_remove_spans(text, "[[", "]]")
    if expected is None:
        with pytest.raises(SourceError):
            _remove_spans(text, "x", "[[", "]]", "note")
    else:
        assert _remove_spans(text, "x", "[[", "]]", "note") == expected
