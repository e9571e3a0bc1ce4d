"""The plan values: an episode as a frozen list of segments and silences, and its one file form.

:class:`EpisodePlan` is written by the build (``build/plans/<episode>.json``) and read back by
assembly, the reports and ``explain`` through :meth:`EpisodePlan.from_dict`; nothing else
reads plan files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ttsbuild.core.errors import ScriptError, SubtitleError
from ttsbuild.core.formats import MAX_TIMELINE_SECONDS
from ttsbuild.core.request import PostStage, RenderRequest

SYNTHESIZE = "synthesize"


@dataclass(frozen=True)
class StageOutput:
    """A post stage of one segment and the key of its output (its input is the key before)."""

    stage: PostStage
    key: str

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, **self.stage.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StageOutput:
        return cls(PostStage.from_dict(data), str(data["key"]))


@dataclass(frozen=True)
class Segment:
    """One rendered unit: a chunk of one utterance, synthesized, then through its post stages.

    ``key`` names the final stage's output (what assembly reads); ``synthesis_key`` the
    engine's output. Without post stages the two are the same.
    """

    key: str
    line: int
    chunk: int
    chunks: int
    speaker: str
    request: RenderRequest
    cue: int | None = None  # subtitle cue index, for SRT sources
    uid: str = ""  # the utterance's stable identity (ttsbuild.sources.identity)
    synthesis_key: str = ""  # "" when there are no post stages: the key itself
    post: tuple[StageOutput, ...] = ()
    lexicon: tuple[str, ...] = ()  # the lexicon entries that changed this chunk's text
    note: str = ""  # the writers' note on the line (direction for a voice actor): never spoken

    @property
    def text(self) -> str:
        return self.request.text

    def chain(self) -> list[tuple[str, str]]:
        """(stage kind, output key) from synthesis to the final stage."""
        return [
            (SYNTHESIZE, self.synthesis_key or self.key),
            *((s.stage.kind, s.key) for s in self.post),
        ]

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
            "synthesis_key": self.synthesis_key or self.key,
            "post": [s.to_dict() for s in self.post],
            "lexicon": list(self.lexicon),
            **({"note": self.note} if self.note else {}),
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
            "" if data.get("synthesis_key") in (None, data["key"]) else str(data["synthesis_key"]),
            tuple(StageOutput.from_dict(s) for s in data.get("post") or ()),
            tuple(str(e) for e in data.get("lexicon") or ()),
            str(data.get("note", "")),
        )


@dataclass(frozen=True)
class Silence:
    """A pause; a scene break (``kind``) may hold a sound, placed in the middle of it.

    ``sound`` is the sound file's resolved path and ``sound_hash`` its content's sha256 (what
    the clip cache names the prepared sound by, so a moved file is the same clip)."""

    line: int
    milliseconds: float
    cue: int | None = None  # subtitle cue index, for SRT sources
    kind: str = ""  # "" a pause; else the element of a scene break (scene_headings, ...)
    sound: str = ""
    sound_hash: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "pause",
            "line": self.line,
            "ms": self.milliseconds,
            "cue": self.cue,
        }
        if self.kind:
            out["kind"] = self.kind
        if self.sound:
            out["sound"], out["sound_hash"] = self.sound, self.sound_hash
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Silence:
        return cls(
            int(data["line"]),
            float(data["ms"]),
            data.get("cue"),
            str(data.get("kind", "")),
            str(data.get("sound", "")),
            str(data.get("sound_hash", "")),
        )


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

    def lines(self) -> list[tuple[str, tuple[Segment, ...]]]:
        """Every spoken line once, in order, by its uid, with all its chunks: two lines with
        the same words share segment keys but are two lines (two voice assets)."""
        order: dict[str, list[Segment]] = {}
        for item in self.items:
            if isinstance(item, Segment):
                order.setdefault(item.uid or item.key, []).append(item)
        return [(uid, tuple(sorted(c, key=lambda s: s.chunk))) for uid, c in order.items()]

    def missing(self) -> list[Mapping[str, Any]]:
        """The source's lines with an id and nothing to say (``Unspoken``), with their reason."""
        return list(self.extra.get("missing") or ())

    def stage_keys(self) -> set[str]:
        """Every key the plan needs in the store: synthesis and post stage outputs."""
        return {key for seg in self.segments() for _, key in seg.chain()}

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


def check_timeline(plan: EpisodePlan) -> None:
    """Refuse, at plan time, an episode whose known length (pauses, subtitle cue times) is
    already over :data:`MAX_TIMELINE_SECONDS`; assembly checks the whole timeline again."""
    limit_ms = MAX_TIMELINE_SECONDS * 1000
    hours = MAX_TIMELINE_SECONDS // 3600
    srt = plan.extra.get("srt")
    if srt is not None:
        for cue in srt["cues"]:
            if cue["end_ms"] > limit_ms:
                raise SubtitleError(
                    f"cue {cue['number'] or cue['cue']} ends after {hours} hours, the limit of "
                    "one episode; split the subtitles into episodes",
                    plan.source,
                    cue["line"],
                )
    total = 0.0
    for item in plan.items:
        if isinstance(item, Silence):
            total += item.milliseconds
            if total > limit_ms:
                raise ScriptError(
                    f"the pauses so far add up to more than {hours} hours, the limit of one "
                    "episode; split the script into episodes",
                    plan.source,
                    item.line,
                )
