"""The engine Protocol, and the values that cross it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ..audio import Audio


@dataclass(frozen=True)
class ParamSpec:
    """A numeric synthesis parameter: default, allowed range, and the rounding used for hashing."""

    name: str
    default: float
    minimum: float
    maximum: float
    decimals: int = 3
    integer: bool = False
    help: str = ""

    def resolve(self, value: float | None) -> float:
        v = self.default if value is None else float(value)
        return float(round(v)) if self.integer else round(v, self.decimals)


#: Parameters every engine accepts. ``speed`` is passed to the engine (which must honour it);
#: ``pitch`` (semitones) is applied by ttsbuild after synthesis; ``seed`` feeds the engine's RNG.
COMMON_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("seed", 0, 0, 2**31 - 1, integer=True, help="random seed (default: derived)"),
    ParamSpec("speed", 1.0, 0.5, 2.0, decimals=3, help="speaking rate, 1.0 is normal"),
    ParamSpec("pitch", 0.0, -12.0, 12.0, decimals=2, help="pitch shift in semitones"),
)


@dataclass(frozen=True)
class EngineInfo:
    """What an engine is and can do; cheap to obtain (no heavy imports)."""

    name: str
    sample_rate: int
    languages: frozenset[str] | None  # None: any language the voice speaks
    needs_reference_audio: bool
    needs_reference_text: bool
    params: tuple[ParamSpec, ...] = ()
    default_model: str = ""
    description: str = ""
    uses_torch: bool = False  # device "auto" means CUDA when torch sees one
    #: Most requests the model's ``synthesize_batch`` renders in one forward pass (1: it does
    #: not batch; ``engines.<name>.batch_size`` in config is capped by this).
    max_batch: int = 1
    #: What the requests of one inference batch must share, besides engine and model:
    #: ``"language"``, ``"voice"`` and/or parameter names (e.g. ``"nfe_step"``).
    batch_shared: tuple[str, ...] = ()

    def param_specs(self) -> dict[str, ParamSpec]:
        return {p.name: p for p in (*COMMON_PARAMS, *self.params)}


@dataclass(frozen=True)
class Voice:
    """A resolved voice: where its reference lives (never hashed) and its content hash."""

    reference: str  # path to reference audio or engine model file, or "" for the engine default
    content_hash: str
    reference_text: str = ""


@dataclass(frozen=True)
class RenderRequest:
    """Everything that determines a segment's sound. Its canonical form is the cache key."""

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


@dataclass(frozen=True)
class EngineOptions:
    """Per-process engine settings from config: never part of a segment's identity."""

    device: str = "cpu"
    model: str = ""
    checkpoint_dir: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    batch_size: int = 1  # inference batch size from config (engines.<name>.batch_size)


@runtime_checkable
class Model(Protocol):
    """A loaded model: heavy, created once per process, shared by all voices and languages."""

    def synthesize(self, request: RenderRequest) -> Audio: ...


@runtime_checkable
class BatchModel(Model, Protocol):
    """A model that renders several requests in one forward pass (``EngineInfo.max_batch``).

    Each result must not depend on which other requests share the batch: ``synthesize_batch(rs)``
    gives, per request, what ``synthesize`` gives alone (see docs/performance.md for what is
    bit-identical and what is within a tolerance). Models without it are run one request at a
    time by :func:`ttsbuild.engines.batching.synthesize_many`.
    """

    def synthesize_batch(self, requests: Sequence[RenderRequest]) -> list[Audio]: ...


@runtime_checkable
class Engine(Protocol):
    """One TTS engine. Instances are light; :meth:`load` does the heavy work."""

    info: EngineInfo

    def version(self) -> str:
        """Engine package and model versions; changes here change every segment's key."""
        ...

    def model_id(self, options: EngineOptions) -> str:
        """The model a request will use (goes into the cache key)."""
        ...

    def voice(self, reference: str, reference_text: str, project_dir: str) -> Voice:
        """Resolve a character's voice setting to a :class:`Voice` (hashing its content)."""
        ...

    def voice_languages(self, voice: Voice) -> frozenset[str]:
        """Languages this voice speaks (used when ``info.languages`` is None)."""
        ...

    def load(self, options: EngineOptions) -> Model:
        """Load the model (heavy). Called once per (engine, model, device) per process."""
        ...
