"""The episode's subtitles as viewers expect them: at most ``srt_max_lines`` lines of
``srt_max_line_chars`` characters a cue (42 and 2, the usual broadcast limits), a longer
segment split into several cues at sentence, then clause, then word boundaries, each timed by
its share of the speech; optionally the speaker's name where the speaker changes.

Pure functions over (start_sample, end_sample, text) cues. A split cue's times divide the
segment's span in proportion to the characters of each part (speech runs at an even rate
within one segment), in integer samples; the parts are contiguous and cover the span.

Imports: nothing of ttsbuild.
"""

from __future__ import annotations

import functools
import re
import textwrap
from collections.abc import Sequence

_SENTENCE = re.compile(r"(?<=[.!?…])[\"'”’)]*\s+")
_CLAUSE = re.compile(r"(?<=[,;:—–])\s+")


@functools.lru_cache(maxsize=8192)
def _wrapped(text: str, width: int) -> tuple[str, ...]:
    """``textwrap.wrap`` without breaking words (a cue's text is wrapped several times while it
    is split: once per question asked of it)."""
    return tuple(textwrap.wrap(text, width, break_long_words=False))


def _fits(text: str, width: int, lines: int) -> bool:
    if lines >= 1 and len(text) <= width and "\t" not in text:
        return True  # at most one line (the common case): only a tab could make it longer
    return len(_wrapped(text, width)) <= lines


def _pieces(text: str, width: int, lines: int) -> list[str]:
    """The text cut at sentence ends, then clauses, then words, into pieces that each fit."""
    out: list[str] = []
    for sentence in (s for s in _SENTENCE.split(text) if s.strip()):
        if _fits(sentence, width, lines):
            out.append(sentence)
            continue
        for clause in (c for c in _CLAUSE.split(sentence) if c.strip()):
            if _fits(clause, width, lines):
                out.append(clause)
            else:  # words: as many lines as fit a cue
                wrapped = _wrapped(clause, width)
                out.extend(" ".join(wrapped[i : i + lines]) for i in range(0, len(wrapped), lines))
    return out


def wrap_blocks(text: str, width: int = 42, lines: int = 2) -> list[str]:
    """The text as one or more cue texts, each at most ``lines`` lines of ``width``.

    >>> wrap_blocks("Short line.")
    ['Short line.']
    >>> wrap_blocks("They're coming out of the woodwork! No, everybody we've put away! "
    ...             "Point Blank Sniper?")
    ["They're coming out of the woodwork!\\nNo, everybody we've put away!", 'Point Blank Sniper?']
    """
    blocks: list[list[str]] = []
    for piece in _pieces(" ".join(text.split()), width, lines):
        if blocks and _fits(" ".join([*blocks[-1], piece]), width, lines):
            blocks[-1].append(piece)
        else:
            blocks.append([piece])
    return [_layout(b, width, lines) for b in blocks]


def _layout(pieces: list[str], width: int, lines: int) -> str:
    """A cue's lines: its sentences or clauses one a line where they fit, else wrapped."""
    if 1 < len(pieces) <= lines and all(len(p) <= width for p in pieces):
        return "\n".join(pieces)
    joined = " ".join(pieces)
    return "\n".join(_wrapped(joined, width)) or joined


def split_cue(
    start: int, end: int, text: str, width: int = 42, lines: int = 2
) -> list[tuple[int, int, str]]:
    """One cue, split into cues that fit, each timed by its share of the characters.

    >>> split_cue(0, 1000, "One two three. Four five six seven.", 16, 2)
    [(0, 411, 'One two three.'), (411, 1000, 'Four five six\\nseven.')]
    """
    blocks = wrap_blocks(text, width, lines)
    weights = [len(b.replace("\n", " ")) for b in blocks]
    total, done, pos = sum(weights) or 1, 0, start
    out: list[tuple[int, int, str]] = []
    for block, weight in zip(blocks, weights):
        done += weight
        stop = start + (end - start) * done // total
        out.append((pos, stop, block))
        pos = stop
    return out


def subtitle_cues(
    cues: Sequence[tuple[int, int, str]],
    speakers: Sequence[str],
    width: int,
    lines: int,
    names: bool,
    narrator: str = "narrator",
) -> list[tuple[int, int, str]]:
    """The episode's cues wrapped and split; with ``names``, ``NAME:`` starts the first cue of
    each change of speaker (never the narrator's)."""
    out: list[tuple[int, int, str]] = []
    previous = None
    for (start, end, text), speaker in zip(cues, speakers):
        label = (
            f"{speaker.upper()}: " if names and speaker != previous and speaker != narrator else ""
        )
        previous = speaker
        parts = split_cue(start, end, label + text, width, lines)
        out.extend(parts)
    return out
