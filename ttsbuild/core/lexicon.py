"""The pronunciation lexicon: whole-word replacements applied to a line's text before it is
chunked and hashed, so the text *after* the lexicon is what a segment's key covers.

Case rules (docs/configuration.md, "Lexicon"):

- an entry written in lower case matches the word in any case (``nguyen`` matches ``Nguyen``
  and ``NGUYEN``); when the matched word starts with a capital, so does the replacement;
- an entry with any capital letter matches only that exact spelling (``US`` never matches
  ``us``), and its replacement is used as written;
- matches are whole words or phrases: ``Ann`` does not match ``Anna``;
- text inside Piper phoneme brackets ``[[ ... ]]`` is never changed, and a replacement may be a
  phoneme form such as ``[[ ŋwˈɪən ]]``, passed to the engine as written.

The most specific entry for a word wins: a character's own, then the line's language's, then
the project's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

_PHONEMES = re.compile(r"(\[\[.*?\]\])")


@dataclass(frozen=True)
class Entry:
    word: str
    replacement: str
    language: str | None = None  # None: every language
    character: str | None = None  # None: every character
    origin: str = ""  # "config/config.yaml:12", "lexicon.tsv:3"

    @property
    def exact(self) -> bool:
        return self.word != self.word.lower()

    @property
    def scope(self) -> tuple[str, str]:
        return (self.word if self.exact else self.word.casefold(), self.language or "")

    def describe(self) -> str:
        where = f" ({self.origin})" if self.origin else ""
        return f"lexicon entry '{self.word}' -> '{self.replacement}'{where}"


def _specificity(entry: Entry) -> int:
    return (entry.character is not None) * 2 + (entry.language is not None)


@dataclass(frozen=True)
class Lexicon:
    """The project's entries. The matcher of each (language, character) is compiled once, the
    first time a line needs it, and reused for every other line of the build (compiling per
    line cost seconds per line with a 10,000-entry ``lexicon_file``)."""

    entries: tuple[Entry, ...] = ()
    _matchers: dict[tuple[str, str], _Matcher | None] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def applicable(self, language: str, character: str) -> tuple[Entry, ...]:
        """The entries for one language and character, the most specific per word."""
        best: dict[str, Entry] = {}
        for entry in self.entries:
            if entry.language not in (None, language) or entry.character not in (None, character):
                continue
            word = entry.scope[0]
            if word not in best or _specificity(entry) > _specificity(best[word]):
                best[word] = entry
        return tuple(sorted(best.values(), key=lambda e: (-len(e.word), e.word)))

    def apply(self, text: str, language: str, character: str) -> tuple[str, tuple[Entry, ...]]:
        """``text`` with the lexicon applied, and the entries that changed it.

        >>> lex = Lexicon((Entry("nguyen", "win"), Entry("US", "you ess")))
        >>> lex.apply("Nguyen and us met the US team.", "en", "alice")[0]
        'Win and us met the you ess team.'
        """
        scope = (language, character)
        if scope not in self._matchers:
            entries = self.applicable(language, character)
            self._matchers[scope] = _Matcher(entries) if entries else None
        matcher = self._matchers[scope]
        return (text, ()) if matcher is None else matcher.apply(text)


class _Matcher:
    def __init__(self, entries: Iterable[Entry]):
        self.entries = tuple(entries)

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        parts = []
        for i, e in enumerate(self.entries):
            body = re.escape(e.word)
            parts.append(f"(?P<e{i}>{body})" if e.exact else f"(?P<e{i}>(?i:{body}))")
        return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)")

    def apply(self, text: str) -> tuple[str, tuple[Entry, ...]]:
        used: dict[int, Entry] = {}

        def replace(m: re.Match[str]) -> str:
            index = int(str(m.lastgroup)[1:])
            entry = self.entries[index]
            used[index] = entry
            out = entry.replacement
            found = m.group(0)
            if not entry.exact and found[:1].isupper() and out[:1].islower():
                out = out[:1].upper() + out[1:]
            return out

        pieces = _PHONEMES.split(text)
        for i in range(0, len(pieces), 2):  # odd pieces are [[ phonemes ]]: left alone
            pieces[i] = self.pattern.sub(replace, pieces[i])
        return "".join(pieces), tuple(used[i] for i in sorted(used))
