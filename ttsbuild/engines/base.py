"""The engine Protocol and what an engine declares about itself (info, parameters).

The request and voice values that cross the Protocol live in :mod:`ttsbuild.core.request`;
per-process options in :mod:`ttsbuild.config.settings`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ttsbuild.config.settings import EngineOptions
from ttsbuild.core.audio import Audio
from ttsbuild.core.request import RenderRequest, Voice


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
class RuntimeSpec:
    """What a managed runtime of an engine installs (``ttsbuild runtime create``), PyPI only.

    Each variant is a list of ``pip install`` steps run in order (a step may start with
    ``--no-deps``); ttsbuild's own light dependencies join the last step, so its pins hold for
    them too. Engines with equal specs (Chatterbox English and multilingual) share a runtime.
    """

    name: str  # the runtime's folder prefix, e.g. "chatterbox"
    package: str  # the distribution whose version is the engine's version
    cpu: tuple[tuple[str, ...], ...]
    gpu: tuple[tuple[str, ...], ...]
    probe: tuple[str, ...]  # modules `ttsbuild runtime check` imports

    def steps(self, variant: str) -> tuple[tuple[str, ...], ...]:
        return self.gpu if variant == "gpu" else self.cpu


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
    # Speaking rate at speed 1, for predicting subtitle overflow before anything is rendered
    # (a voice's stored segments, where there are any, give the measured rate instead).
    chars_per_second: float = 14.0
    runtime: RuntimeSpec | None = None  # requirements of a managed runtime (docs/engines.md)
    #: Most requests the model's ``synthesize_batch`` renders in one forward pass (1: it does
    #: not batch; ``engines.<name>.batch_size`` in config is capped by this).
    max_batch: int = 1
    #: What the requests of one inference batch must share, besides engine and model:
    #: ``"language"``, ``"voice"`` and/or parameter names (e.g. ``"nfe_step"``).
    batch_shared: tuple[str, ...] = ()
    #: Voices are names (or blends of names) the engine resolves itself, not files of the
    #: project (Kokoro's bundled voices); planning then passes the setting through as it is.
    named_voices: bool = False
    #: How the engine uses a machine's cores. 0: one instance in the render job's process,
    #: with its library's own threads (torch engines; on a GPU, batches). N >= 1: several
    #: instances of N threads each, one render worker process per N cores (Piper: 1, small
    #: ONNX models gain more from parallel requests than from threads inside one request).
    threads_per_instance: int = 0

    def param_specs(self) -> dict[str, ParamSpec]:
        return {p.name: p for p in (*COMMON_PARAMS, *self.params)}


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
