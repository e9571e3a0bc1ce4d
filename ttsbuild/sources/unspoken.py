"""A source line with an id and nothing to say (pure value)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Unspoken:
    """A line of the source with an id but nothing to say ("...", empty after markup): it gets
    no segment and no file, and the assets manifest lists it under ``missing`` with its reason."""

    line: int
    speaker: str
    text: str  # as written (markup removed)
    reason: str
    uid: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.uid,
            "line": self.line,
            "character": self.speaker,
            "text": self.text,
            "reason": self.reason,
        }


def unspoken_reason(text: str) -> str:
    """Why a line's text cannot be spoken (it has no letter or digit).

    >>> unspoken_reason("..."), unspoken_reason("")
    ('only punctuation: nothing to speak', 'no text')
    """
    return "only punctuation: nothing to speak" if text.strip() else "no text"
