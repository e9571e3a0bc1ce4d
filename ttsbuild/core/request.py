"""The render request: everything that determines a segment's sound, and its one serialized form.

A :class:`RenderRequest` is built by planning, hashed into the segment key
(:func:`ttsbuild.planning.key.segment_key` hashes :meth:`RenderRequest.identity`), written into
batch manifests and sidecars (:meth:`RenderRequest.to_dict`), sent to the render server, and
given to an engine's model. Every one of those uses the methods here; nobody lists the fields
again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ttsbuild.core.effects import Effect


@dataclass(frozen=True)
class Voice:
    """A resolved voice: where its reference lives (never hashed) and its content hash."""

    reference: str  # path to reference audio or engine model file, or "" for the engine default
    content_hash: str
    reference_text: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "reference": self.reference,
            "content_hash": self.content_hash,
            "reference_text": self.reference_text,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Voice:
        return cls(
            str(data["reference"]), str(data["content_hash"]), str(data.get("reference_text", ""))
        )


@dataclass(frozen=True)
class RenderRequest:
    """Everything that determines a segment's sound. Its :meth:`identity` is the cache key."""

    text: str
    engine: str
    engine_version: str
    model: str
    language: str
    voice: Voice
    params: tuple[tuple[str, float], ...]
    seed: int

    def param(self, name: str, default: float = 0.0) -> float:
        return dict(self.params).get(name, default)

    def identity(self) -> dict[str, object]:
        """What identifies the sound: every field but where the voice file lives.

        >>> v = Voice("/a.onnx", "abc")
        >>> RenderRequest("Hi.", "piper", "1", "m", "en", v, (), 7).identity()["voice"]
        'abc'
        """
        return {
            "text": self.text,
            "engine": self.engine,
            "engine_version": self.engine_version,
            "model": self.model,
            "language": self.language,
            "voice": self.voice.content_hash,
            "reference_text": self.voice.reference_text,
            "params": [[k, v] for k, v in self.params],
            "seed": self.seed,
        }

    def to_dict(self) -> dict[str, Any]:
        """The identity plus where the voice lives (batch manifests, sidecars, plans)."""
        data: dict[str, Any] = self.identity()
        del data["reference_text"]
        data["voice"] = self.voice.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RenderRequest:
        return cls(
            text=str(data["text"]),
            engine=str(data["engine"]),
            engine_version=str(data["engine_version"]),
            model=str(data["model"]),
            language=str(data["language"]),
            voice=Voice.from_dict(data["voice"]),
            params=tuple((str(k), float(val)) for k, val in data["params"]),
            seed=int(data["seed"]),
        )


#: The post stages a segment can go through after synthesis, in this order.
STAGE_KINDS = ("convert", "effects")


@dataclass(frozen=True)
class PostStage:
    """One post-synthesis stage: voice conversion to a target voice, or an effects chain
    (pitch included). Its :meth:`identity`, with its input's key, is the stage output's key."""

    kind: str  # one of STAGE_KINDS
    version: str  # the converter's version, or the effects implementation's
    effects: tuple[Effect, ...] = ()
    voice: Voice | None = None  # convert: the target voice (reference clip)
    engine: str = ""  # convert: the converter's registry name

    def identity(self) -> dict[str, object]:
        """What identifies the stage's work: never where the reference clip lives."""
        return {
            "kind": self.kind,
            "version": self.version,
            "engine": self.engine,
            "effects": [e.to_dict() for e in self.effects],
            "voice": self.voice.content_hash if self.voice is not None else None,
        }

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = self.identity()
        data["voice"] = self.voice.to_dict() if self.voice is not None else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PostStage:
        voice = data.get("voice")
        return cls(
            kind=str(data["kind"]),
            version=str(data["version"]),
            effects=tuple(Effect.from_dict(e) for e in data.get("effects") or ()),
            voice=Voice.from_dict(voice) if voice else None,
            engine=str(data.get("engine", "")),
        )
