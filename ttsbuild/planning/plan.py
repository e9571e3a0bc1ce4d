"""The plan values: an episode as a frozen list of segments and silences, and its one file form.

:class:`EpisodePlan` is written by the build (``build/plans/<episode>.json``) and read back by
assembly, the reports and ``explain`` through :meth:`EpisodePlan.from_dict`; nothing else
reads plan files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ttsbuild.core.request import RenderRequest


@dataclass(frozen=True)
class Segment:
    """One rendered unit: a chunk of one utterance."""

    key: str
    line: int
    chunk: int
    chunks: int
    speaker: str
    request: RenderRequest
    cue: int | None = None  # subtitle cue index, for SRT sources
    uid: str = ""  # the utterance's stable identity (ttsbuild.sources.identity)

    @property
    def text(self) -> str:
        return self.request.text

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "segment",
            "key": self.key,
            "line": self.line,
            "chunk": self.chunk,
            "chunks": self.chunks,
            "speaker": self.speaker,
            "language": self.request.language,
            "engine": self.request.engine,
            "text": self.request.text,
            "cue": self.cue,
            "uid": self.uid,
            "request": self.request.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Segment:
        return cls(
            str(data["key"]),
            int(data["line"]),
            int(data["chunk"]),
            int(data["chunks"]),
            str(data["speaker"]),
            RenderRequest.from_dict(data["request"]),
            data.get("cue"),
            str(data.get("uid", "")),
        )


@dataclass(frozen=True)
class Silence:
    line: int
    milliseconds: float
    cue: int | None = None  # subtitle cue index, for SRT sources

    def to_dict(self) -> dict[str, Any]:
        return {"type": "pause", "line": self.line, "ms": self.milliseconds, "cue": self.cue}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Silence:
        return cls(int(data["line"]), float(data["ms"]), data.get("cue"))


PlanItem = Segment | Silence


@dataclass(frozen=True)
class EpisodePlan:
    episode: str
    source: str
    items: tuple[PlanItem, ...]
    extra: Mapping[str, Any] = field(default_factory=dict)  # e.g. SRT cue timing

    def segments(self) -> list[Segment]:
        """Distinct segments in first-use order."""
        seen: set[str] = set()
        out: list[Segment] = []
        for item in self.items:
            if isinstance(item, Segment) and item.key not in seen:
                seen.add(item.key)
                out.append(item)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "episode": self.episode,
            "source": self.source,
            "items": [item.to_dict() for item in self.items],
            **self.extra,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EpisodePlan:
        items: list[PlanItem] = [
            Segment.from_dict(i) if i["type"] == "segment" else Silence.from_dict(i)
            for i in data["items"]
        ]
        extra = {k: v for k, v in data.items() if k not in ("episode", "source", "items")}
        return cls(str(data["episode"]), str(data["source"]), tuple(items), extra)
