"""Writing systems of a line, and which ones a language's voice can read (the language check).

A voice for English spells a Russian line letter by letter; a Japanese voice says nothing
useful for Arabic. :func:`foreign_scripts` names the scripts in a text that ``language`` does
not use, so planning can warn per line (docs/script.md, Languages). Digits, punctuation and
symbols belong to no script and never count. A language missing from :data:`LANGUAGE_SCRIPTS`
is not checked.

>>> foreign_scripts("Привет, Joe!", "en")
('Cyrillic',)
>>> foreign_scripts("猫が好き。OK です。", "ja")
()
>>> foreign_scripts("Hello 123 ...", "en")
()
>>> foreign_scripts("Hello, world.", "ja")  # Latin alone: read as katakana English
('Latin',)
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

#: The first word of a letter's Unicode name, for the scripts the check knows.
_NAME_SCRIPTS = {
    "LATIN": "Latin",
    "CYRILLIC": "Cyrillic",
    "GREEK": "Greek",
    "ARABIC": "Arabic",
    "HEBREW": "Hebrew",
    "CJK": "Han",
    "IDEOGRAPHIC": "Han",
    "HIRAGANA": "Hiragana",
    "KATAKANA": "Katakana",
    "HANGUL": "Hangul",
    "DEVANAGARI": "Devanagari",
    "THAI": "Thai",
    "ARMENIAN": "Armenian",
    "GEORGIAN": "Georgian",
    "BENGALI": "Bengali",
    "TAMIL": "Tamil",
}

_LATIN = frozenset({"Latin"})
#: Scripts each language's voices read. Latin is allowed where texts of that language commonly
#: carry Latin words (names, acronyms) that its front ends read.
LANGUAGE_SCRIPTS: dict[str, frozenset[str]] = {
    **{
        code: _LATIN
        for code in (
            "en de fr es it pt nl sv da no nb nn fi pl cs sk sl hr ro hu tr ms id sw "
            "et lv lt is ga cy ca eu gl vi tl af sq"
        ).split()
    },
    **{code: frozenset({"Cyrillic"}) for code in ("ru", "uk", "be", "bg", "mk", "kk")},
    "sr": frozenset({"Cyrillic", "Latin"}),
    "el": frozenset({"Greek"}),
    **{code: frozenset({"Arabic"}) for code in ("ar", "fa", "ur")},
    "he": frozenset({"Hebrew"}),
    "hi": frozenset({"Devanagari"}),
    "mr": frozenset({"Devanagari"}),
    "ne": frozenset({"Devanagari"}),
    "bn": frozenset({"Bengali"}),
    "ta": frozenset({"Tamil"}),
    "th": frozenset({"Thai"}),
    "hy": frozenset({"Armenian"}),
    "ka": frozenset({"Georgian"}),
    "ja": frozenset({"Han", "Hiragana", "Katakana", "Latin"}),
    "zh": frozenset({"Han", "Latin"}),
    "ko": frozenset({"Hangul", "Han", "Latin"}),
}

#: Scripts a language's voices read only beside its own: a Japanese line may carry "OK" or a
#: name, but a line of Latin letters alone is English given to a Japanese voice.
GUEST_SCRIPTS: dict[str, frozenset[str]] = {code: _LATIN for code in ("ja", "zh", "ko")}


#: A language to suggest for a script in messages (``[ru:Bob]``).
SCRIPT_LANGUAGE = {
    "Latin": "en",
    "Cyrillic": "ru",
    "Greek": "el",
    "Arabic": "ar",
    "Hebrew": "he",
    "Han": "zh",
    "Hiragana": "ja",
    "Katakana": "ja",
    "Hangul": "ko",
    "Devanagari": "hi",
    "Thai": "th",
    "Armenian": "hy",
    "Georgian": "ka",
    "Bengali": "bn",
    "Tamil": "ta",
}


@lru_cache(maxsize=8192)
def script_of(char: str) -> str | None:
    """The script of one letter (None for digits, punctuation, symbols, unknown scripts).

    >>> script_of("ж"), script_of("カ"), script_of("ー"), script_of("7")
    ('Cyrillic', 'Katakana', 'Katakana', None)
    """
    if not char.isalpha() and char != "ー":
        return None
    name = unicodedata.name(char, "")
    if char == "ー" or name.startswith("HALFWIDTH KATAKANA"):
        return "Katakana"
    name = name.removeprefix("FULLWIDTH ").removeprefix("HALFWIDTH ")
    return _NAME_SCRIPTS.get(name.split(" ", 1)[0]) if name else None


def foreign_scripts(text: str, language: str) -> tuple[str, ...]:
    """Scripts in ``text`` that ``language`` does not read, in order of first appearance."""
    code = language.split("-")[0].lower()
    allowed = LANGUAGE_SCRIPTS.get(code)
    if allowed is None:
        return ()
    found: dict[str, None] = {}
    seen: set[str] = set()
    for char in text:
        script = script_of(char)
        if script is not None:
            seen.add(script)
            if script not in allowed:
                found.setdefault(script)
    guests = GUEST_SCRIPTS.get(code, frozenset())
    if not found and seen and seen <= guests:  # only guest letters, none of the language's own
        return tuple(sorted(seen))
    return tuple(found)
