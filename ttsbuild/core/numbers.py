"""Numbers read aloud: digits in a line become words before the lexicon and before hashing,
so every engine says "1850s" as "eighteen fifties", not whatever its own front end guesses
(docs/script.md, Numbers). Spelled by num2words, per language.

What is read, in this order (each match once, left to right):

* amounts: ``$12.50``, ``€5``, ``£1,200`` (``to="currency"``); ``40%`` (English: "percent");
* times: ``10:30`` ("ten thirty"), ``9:05`` ("nine oh five"), ``7:00`` ("seven o'clock");
* decades (English): ``1800s`` ("eighteen hundreds"), ``1960s``, ``'60s`` ("sixties");
* ordinals: ``1st``, ``22nd``, ``3rd``, ``4th`` (English; ``3.`` is left alone);
* years: a four-digit number from 1100 to 2099 without separators (``1850``, ``2024``);
* other numbers: ``7``, ``1,200``, ``3.14`` (cardinals; ``,`` groups thousands in English).
  The digits after a decimal point are read one by one from the text ("1.50": "one point five
  zero"), as are a number with leading zeros ("007": "zero zero seven") and one longer than
  ``MAX_NAMED_DIGITS`` digits: no digit is rounded away or lost.

A match whose text is a lexicon word (``keep``) is left for the lexicon, which comes after:
an entry ``1850: eighteen-and-fifty`` wins over the rule. A language num2words does not speak
is left as written.

Imports: nothing of ttsbuild.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from functools import lru_cache

MAX_NAMED_DIGITS = 21  # up to the sextillions; a longer number is read digit by digit
_NO_CENTS = re.compile(r",?\s+(?:zero|null|zéro|cero)\s+\S+$")
_CURRENCY = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
_NUMBER = r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_PATTERN = re.compile(
    rf"(?P<amount>(?P<sym>[$€£¥])\s?(?P<value>{_NUMBER}))"
    rf"|(?P<percent>(?<![\d,.])(?P<pvalue>{_NUMBER})\s?%)"  # starts a run: linear
    r"|(?P<time>\b(?P<hh>[01]?\d|2[0-3]):(?P<mm>[0-5]\d)\b)"
    r"|(?P<decade>(?:\b(?P<century>1[1-9]|20)(?P<dd>\d)0|')(?P<short>\d0)?s\b)"
    r"|(?P<ordinal>\b(?P<ovalue>\d+)(?:st|nd|rd|th)\b)"
    r"|(?P<year>\b(?:1[1-9]|20)\d\d\b(?![.,]\d))"
    rf"|(?P<number>(?<![\w.]){_NUMBER}(?![\w]))",
    re.IGNORECASE,
)


@lru_cache(maxsize=64)
def _speaks(lang: str) -> bool:
    from num2words import CONVERTER_CLASSES

    return lang in CONVERTER_CLASSES


def _lang(language: str) -> str | None:
    lang = language.lower().replace("-", "_")
    for code in (lang, lang.split("_")[0]):
        if _speaks(code):
            return code
    return None


@lru_cache(maxsize=64)
def _digit_words(lang: str) -> tuple[str, ...]:
    from num2words import num2words

    return tuple(str(num2words(d, lang=lang)) for d in range(10))


@lru_cache(maxsize=64)
def _point_word(lang: str) -> str | None:
    """The language's word for the decimal point, as num2words says it ("point", "Komma")."""
    from num2words import num2words

    one, five = _digit_words(lang)[1], _digit_words(lang)[5]
    words = str(num2words(1.5, lang=lang))
    if not (words.startswith(one) and words.endswith(five)):
        return None
    return words[len(one) : len(words) - len(five)].strip() or None


def _digits(text: str, lang: str) -> str:
    names = _digit_words(lang)
    return " ".join(names[int(c)] for c in text)


def _cardinal(text: str, say: Callable[..., str], lang: str) -> str:
    """A plain number in words; its decimals, leading zeros and very long ones digit by digit.

    >>> _cardinal("1,000.50", lambda v, **kw: str(v), "en")
    '1000 point five zero'
    """
    whole, _, decimals = text.replace(",", "").partition(".")
    point = _point_word(lang) if decimals else None
    if decimals and point is None:
        return say(float(text.replace(",", "")))
    if len(whole) > MAX_NAMED_DIGITS or (len(whole) > 1 and whole.startswith("0")):
        words = _digits(whole, lang)
    else:
        words = say(int(whole))
    return f"{words} {point} {_digits(decimals, lang)}" if decimals else words


def _plural(words: str) -> str:
    """The decade's plural: "nineteen sixty" -> "nineteen sixties"."""
    head, _, last = words.rpartition(" ")
    last = last[:-1] + "ies" if last.endswith("y") else last + "s"
    return f"{head} {last}".strip()


def _value(text: str) -> int | float:
    text = text.replace(",", "")
    return float(text) if "." in text else int(text)


def _time(m: re.Match[str], say: Callable[..., str], lang: str) -> str:
    hours, minutes = int(m.group("hh")), int(m.group("mm"))
    if lang != "en":
        return f"{say(hours)} {say(minutes)}" if minutes else say(hours)
    if minutes == 0:
        return f"{say(hours)} o'clock"
    return f"{say(hours)} {'oh ' if minutes < 10 else ''}{say(minutes)}"


def _spoken(m: re.Match[str], lang: str) -> str | None:
    from num2words import num2words

    def say(value: int | float, **kw: str) -> str:
        return str(num2words(value, lang=lang, **kw))

    if len(m.group(0)) > MAX_NAMED_DIGITS + 8 and (m.group("amount") or m.group("ordinal")):
        return None  # an amount or ordinal too long to name: left as written
    if m.group("amount"):
        value = float(_value(m.group("value")))  # num2words reads an int amount as cents
        spoken = say(value, to="currency", currency=_CURRENCY[m.group("sym")])
        return _NO_CENTS.sub("", spoken) if value.is_integer() else spoken
    if m.group("percent"):
        return f"{_cardinal(m.group('pvalue'), say, lang)} percent" if lang == "en" else None
    if m.group("time"):
        return _time(m, say, lang)
    if m.group("decade"):
        if lang != "en":
            return None
        if m.group("century"):
            year = int(m.group("century") + m.group("dd") + "0")
            return _plural(say(year, to="year"))
        return _plural(say(int(m.group("short")))) if m.group("short") else None
    if m.group("ordinal"):
        return say(int(m.group("ovalue")), to="ordinal") if lang == "en" else None
    if m.group("year"):
        return say(int(m.group("year")), to="year")
    if lang != "en" and "," in m.group("number"):
        return None  # a decimal comma, or grouping: ambiguous outside English
    return _cardinal(m.group("number"), say, lang)


def speak_numbers(
    text: str, language: str, keep: Collection[str] = ()
) -> tuple[str, tuple[tuple[str, str], ...]]:
    """``text`` with its numbers in words, and the (written, spoken) pairs replaced.

    >>> speak_numbers("In the 1800s, 3 ships sailed at 10:05 on the 1st for $12.50.", "en")[0]
    'In the eighteen hundreds, three ships sailed at ten oh five on the first for twelve dollars, fifty cents.'
    >>> speak_numbers("Im Jahr 1999 kamen 3 Schiffe.", "de")[0]
    'Im Jahr neunzehnhundertneunundneunzig kamen drei Schiffe.'
    >>> speak_numbers("The 1850 law.", "en", keep={"1850"})[0]
    'The 1850 law.'
    """
    lang = _lang(language)
    if lang is None or not any(c.isdigit() for c in text):
        return text, ()
    folded = {k.casefold() for k in keep}
    done: list[tuple[str, str]] = []

    def replace(m: re.Match[str]) -> str:
        written = m.group(0)
        if written.casefold() in folded:
            return written
        spoken = _spoken(m, lang)
        if spoken is None:
            return written
        done.append((written, spoken))
        return spoken

    return _PATTERN.sub(replace, text), tuple(done)
