"""Pure text functions: normalization (before hashing) and sentence chunking."""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?…。！？])[\"'”’)\]]*\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:—–])\s+")
_TRANSLATE = str.maketrans(
    {
        "\u00a0": " ",  # no-break space
        "\u2007": " ",
        "\u202f": " ",
        "\u200b": "",  # zero-width space
        "\ufeff": "",
    }
)


def normalize_text(text: str) -> str:
    """NFC, hard spaces to spaces, whitespace collapsed, ends stripped.

    >>> normalize_text("  Hello\\u00a0 world.\\n ")
    'Hello world.'
    """
    text = unicodedata.normalize("NFC", text).translate(_TRANSLATE)
    return _SPACE.sub(" ", text).strip()


def has_speakable(text: str) -> bool:
    """True when the text holds at least one letter or digit."""
    return any(ch.isalnum() for ch in text)


def split_sentences(text: str) -> list[str]:
    """Split after sentence-ending punctuation.

    >>> split_sentences("One. Two! Three?")
    ['One.', 'Two!', 'Three?']
    """
    return [p for p in (s.strip() for s in _SENTENCE_END.split(text)) if p]


def _split_long(sentence: str, max_chars: int) -> list[str]:
    """Split one over-long sentence at clause boundaries, then at words."""
    pieces: list[str] = []
    for clause in (c.strip() for c in _CLAUSE_END.split(sentence)):
        if len(clause) <= max_chars:
            pieces.append(clause)
            continue
        words = clause.split(" ")
        current = ""
        for word in words:
            while len(word) > max_chars:  # a single unbroken "word" longer than the limit
                if current:
                    pieces.append(current)
                    current = ""
                cut = _unspaced_cut(word, max_chars)
                pieces.append(word[:cut])
                word = word[cut:]
            candidate = f"{current} {word}" if current else word
            if len(candidate) <= max_chars:
                current = candidate
            else:
                pieces.append(current)
                current = word
        if current:
            pieces.append(current)
    return _pack(pieces, max_chars)


def _unspaced_cut(word: str, max_chars: int) -> int:
    """Where to cut a run of text with no spaces (Japanese, Chinese): after the last sentence
    mark within the limit, else the last clause mark, else at the limit.

    >>> _unspaced_cut("今日は晴れ。明日は雨、たぶん。", 10)
    6
    >>> _unspaced_cut("あいうえおかきくけこさ", 5)
    5
    """
    head = word[:max_chars]
    for marks in ("。！？!?．", "、，；,"):
        cut = max(head.rfind(m) for m in marks) + 1
        if cut > 0:
            return cut
    return max_chars


def _pack(pieces: list[str], max_chars: int) -> list[str]:
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current} {piece}" if current else piece
        if len(candidate) <= max_chars:
            current = candidate
        else:
            if current:
                chunks.append(current)
            current = piece
    if current:
        chunks.append(current)
    return chunks


def chunk_text(text: str, max_chars: int) -> list[str]:
    """Greedily pack whole sentences into chunks of at most ``max_chars`` characters.

    A sentence longer than the limit is split at clause boundaries, then between words.
    Joining the chunks with single spaces gives back the normalized text.

    >>> chunk_text("Aa. Bb. Cc.", 7)
    ['Aa. Bb.', 'Cc.']
    """
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    text = normalize_text(text)
    if not text:
        return []
    pieces: list[str] = []
    for sentence in split_sentences(text):
        pieces.extend(
            [sentence] if len(sentence) <= max_chars else _split_long(sentence, max_chars)
        )
    return _pack(pieces, max_chars)


_MARKS = frozenset("。！？!?．、，；,.;:…—–」』）)")


def hard_cuts(text: str, chunks: list[str]) -> int:
    """How many chunk boundaries fall inside a word: no space there and no punctuation mark
    before it (a run of Japanese longer than ``max_chars`` with no 。 or 、).

    >>> hard_cuts("今日は晴れ。明日は雨", chunk_text("今日は晴れ。明日は雨", 6))
    0
    >>> hard_cuts("あいうえおかき", chunk_text("あいうえおかき", 3))
    2
    """
    text = normalize_text(text)
    cuts, pos = 0, 0
    for chunk in chunks[:-1]:
        pos = text.find(chunk, pos) + len(chunk)
        if pos < len(text) and not text[pos].isspace() and chunk[-1] not in _MARKS:
            cuts += 1
    return cuts
