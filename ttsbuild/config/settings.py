"""Settings values, each built from its validated config section by its own ``from_dict``.

None of these classes has defaults: the schema (:mod:`ttsbuild.config.schema`) is the one
source of them. ``from_dict`` runs the section through :func:`~ttsbuild.config.schema.with_defaults`
so a partial mapping (a test, a server message) gets the same defaults as a config file.

Imports: :mod:`ttsbuild.core` and :mod:`ttsbuild.config.schema` only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ttsbuild.config.schema import with_defaults
from ttsbuild.core.effects import Effect

TIMING_MODES = ("smart_natural", "stretch_to_fit", "pad_with_silence", "concatenate")
OVERFLOW_RULES = ("push", "cut")


@dataclass(frozen=True)
class VoiceSetting:
    engine: str
    voice: str
    reference_text: str
    language: str
    params: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class ConvertSetting:
    """Voice conversion after synthesis: the converter and the target's reference clip."""

    engine: str
    voice: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConvertSetting:
        d = with_defaults("convert", data)
        return cls(str(d["engine"]), str(d["voice"]))


@dataclass(frozen=True)
class Character:
    name: str
    setting: VoiceSetting
    languages: tuple[tuple[str, VoiceSetting], ...]
    effects: tuple[Effect, ...]  # presets expanded, parameters rounded (docs/effects.md)
    convert: ConvertSetting | None
    language_given: bool  # 'language:' set on the character (an episode's language then yields)

    def for_language(self, language: str) -> VoiceSetting:
        """The voice setting for ``language``: a per-language override, else the default."""
        for lang, setting in self.languages:
            if lang == language:
                return setting
        return self.setting


@dataclass(frozen=True)
class TimingOptions:
    """How subtitle cues are timed (docs/timing.md)."""

    mode: str
    shift_tolerance_ms: float
    max_stretch: float
    overflow: str  # push (every word is heard) | cut (may cut speech short)
    strict: bool  # a cut, a stretch beyond max_stretch or a late cue fails the build

    def __post_init__(self) -> None:
        if self.overflow not in OVERFLOW_RULES:
            raise ValueError(
                f"unknown overflow rule {self.overflow!r}; rules: {', '.join(OVERFLOW_RULES)}"
            )
        if self.mode not in TIMING_MODES:
            raise ValueError(f"unknown timing mode {self.mode!r}; modes: {', '.join(TIMING_MODES)}")
        if self.max_stretch < 1.0:
            raise ValueError("max_stretch must be at least 1.0")
        if self.shift_tolerance_ms < 0:
            raise ValueError("shift_tolerance_ms must not be negative")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None = None) -> TimingOptions:
        d = with_defaults("timing", data)
        return cls(
            str(d["mode"]),
            float(d["shift_tolerance_ms"]),
            float(d["max_stretch"]),
            str(d["overflow"]),
            bool(d["strict"]),
        )


@dataclass(frozen=True)
class Episode:
    name: str
    source: str
    title: str
    language: str | None  # untagged lines of characters without their own language
    speaker: str  # who speaks untagged lines: a character or alias, or "narrator"
    # Subtitle (.srt) sources only: how cues are timed, how the file is decoded, and whether
    # sound descriptions like [door slams] or (laughs) are left unspoken.
    timing: TimingOptions
    encoding: str | None
    skip_sound_descriptions: bool
    # Other source formats (ttsbuild.sources): the explicit format, and the episode's entry
    # as validated (speak, parentheticals, columns, ...) for SourceOptions.from_dict.
    format: str | None
    options: Mapping[str, Any]

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any]) -> Episode:
        d = with_defaults("episode", data)
        return cls(
            name,
            str(d["source"]),
            str(d.get("title", name)),
            str(d["language"]).lower() if d.get("language") else None,
            str(d["speaker"]),
            TimingOptions.from_dict(d["timing"]),
            str(d["encoding"]) if d.get("encoding") else None,
            bool(d["skip_sound_descriptions"]),
            str(d["format"]) if d.get("format") else None,
            d,
        )


@dataclass(frozen=True)
class OutputSettings:
    sample_rate: int
    gap_ms: float
    chunk_gap_ms: float
    padding_ms: float
    fade_ms: float
    trim_db: float
    loudness_lufs: float | None
    peak_dbfs: float
    srt_max_line_chars: int
    srt_max_lines: int
    srt_speaker_names: bool
    srt_max_cps: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None = None) -> OutputSettings:
        d = with_defaults("output", data)
        return cls(**{k: d[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class DeliverySettings:
    """How delivery files are encoded (the ``output:`` section's bit rates). Kept apart from
    :class:`OutputSettings`, which the plan file holds: a new bit rate re-encodes, it does not
    re-assemble."""

    mp3_bitrate_kbps: int
    opus_bitrate_kbps: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None = None) -> DeliverySettings:
        d = with_defaults("output", data)
        return cls(int(d["mp3_bitrate_kbps"]), int(d["opus_bitrate_kbps"]))


@dataclass(frozen=True)
class RenderServerSettings:
    mode: str  # off | use (if running) | on (required) | auto (start on demand)
    idle_seconds: float

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None = None) -> RenderServerSettings:
        d = with_defaults("render_server", data)
        return cls(str(d["mode"]), float(d["idle_seconds"]))


@dataclass(frozen=True)
class QASettings:
    """ASR verification of new renders (docs/ci.md)."""

    enabled: bool
    model: str  # "base" (the Whisper base model shipped on PyPI) or a model directory
    max_wer: float
    attempts: int
    cache_dir: str  # where a model assembled from PyPI packages is kept (not in the schema)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None = None, cache_dir: str = "") -> QASettings:
        raw = dict(data or {})
        cache_dir = str(raw.pop("cache_dir", cache_dir))
        d = with_defaults("qa", raw)
        return cls(
            bool(d["enabled"]), str(d["model"]), float(d["max_wer"]), int(d["attempts"]), cache_dir
        )


@dataclass(frozen=True)
class EngineOptions:
    """Per-process engine settings from config: never part of a segment's identity."""

    device: str
    model: str
    checkpoint_dir: str
    batch_size: int  # inference batch size (engines.<name>.batch_size; capped by the engine)
    workers: int  # render worker processes (engines.<name>.workers; 0: auto)
    worker_memory_mb: int  # the most one render worker may take (its peak RSS is reported)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None = None) -> EngineOptions:
        d = with_defaults(
            "engine", {k: v for k, v in (data or {}).items() if k not in ("resources", "runtime")}
        )
        return cls(
            str(d["device"]),
            str(d.get("model", "")),
            str(d.get("checkpoint_dir", "")),
            int(d["batch_size"]),
            int(d["workers"]),
            int(d["worker_memory_mb"]),
        )


#: Asset formats: libsndfile (format, subtype) and the file suffix.
ASSET_FORMATS = {
    "wav": ("WAV", "PCM_16", ".wav"),
    "flac": ("FLAC", "PCM_16", ".flac"),
    "ogg-vorbis": ("OGG", "VORBIS", ".ogg"),
    "opus": ("OGG", "OPUS", ".opus"),
    "mp3": ("MP3", "MPEG_LAYER_III", ".mp3"),
}


@dataclass(frozen=True)
class AssetSettings:
    """Per-line voice assets (docs/assets.md): folder, format and per-file mastering."""

    folder: str
    name: str
    strip_prefix: str
    format: str
    bitrate_kbps: int | None
    sample_rate: int
    channels: int
    normalize: str
    loudness_lufs: float
    true_peak_dbtp: float
    trim_db: float
    margin_ms: float
    strict: bool

    def __post_init__(self) -> None:
        if self.format == "opus" and self.sample_rate not in (8000, 12000, 16000, 24000, 48000):
            raise ValueError(
                f"opus needs 8, 12, 16, 24 or 48 kHz (sample_rate is {self.sample_rate})"
            )

    def mastering(self) -> dict[str, Any]:
        """What shapes a file's bytes (not where it goes, not the policy)."""
        skip = ("folder", "name", "strip_prefix", "strict")
        return {k: v for k, v in self.to_dict().items() if k not in skip}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None = None) -> AssetSettings:
        d = with_defaults("assets", data)
        return cls(**{k: d[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class RuntimeSetting:
    """Where an engine renders when not in-process (``engines.<name>.runtime``): an interpreter
    the user gives (``python``), or a runtime ttsbuild manages (``managed``, with ``variant``)."""

    python: str  # "" for a managed runtime
    managed: bool
    variant: str
    probe_timeout: float  # runtime.timeouts: seconds for the probe, the hello, each segment
    hello_timeout: float
    render_timeout: float

    def to_dict(self) -> dict[str, Any]:
        timeouts = {
            "probe": self.probe_timeout,
            "hello": self.hello_timeout,
            "render": self.render_timeout,
        }
        if self.managed:
            return {"managed": True, "variant": self.variant, "timeouts": timeouts}
        return {"python": self.python, "variant": self.variant, "timeouts": timeouts}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuntimeSetting:
        d = with_defaults("runtime", data)
        t = d["timeouts"]
        return cls(
            str(d.get("python", "")),
            bool(d.get("managed", False)),
            str(d["variant"]),
            float(t["probe"]),
            float(t["hello"]),
            float(t["render"]),
        )
