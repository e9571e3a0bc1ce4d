"""Audio effects: declared, rounded parameters, named presets, and one function that applies a
chain (pedalboard, imported lazily).

An :class:`Effect` is a value (type and resolved parameters); what a chain sounds like depends
only on its effects and :data:`EFFECTS_VERSION`, so a chain's identity can be hashed into a
post stage's key (:func:`ttsbuild.planning.key.stage_key`). docs/effects.md lists the types,
their parameters and the presets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ttsbuild.core.audio import Audio

#: Bump when applying the same chain would sound different (invalidates effects outputs).
EFFECTS_VERSION = 1


@dataclass(frozen=True)
class EffectParam:
    """A numeric effect parameter: default, range and the rounding used for hashing."""

    default: float
    minimum: float
    maximum: float
    decimals: int = 2


def _p(default: float, minimum: float, maximum: float, decimals: int = 2) -> EffectParam:
    return EffectParam(default, minimum, maximum, decimals)


_ORDER = _p(1, 1, 8, 0)  # a filter applied this many times: 6 dB per octave each
#: Effect types and their parameters. Each maps to one pedalboard plugin (or time stretch).
EFFECT_TYPES: dict[str, dict[str, EffectParam]] = {
    "highpass": {"cutoff_hz": _p(300, 20, 20000, 0), "order": _ORDER},
    "lowpass": {"cutoff_hz": _p(3400, 20, 20000, 0), "order": _ORDER},
    "peak": {
        "cutoff_hz": _p(1000, 20, 20000, 0),
        "gain_db": _p(0, -24, 24, 1),
        "q": _p(0.7, 0.1, 10),
    },
    "compressor": {
        "threshold_db": _p(-20, -60, 0, 1),
        "ratio": _p(4, 1, 20, 1),
        "attack_ms": _p(5, 0.1, 500, 1),
        "release_ms": _p(100, 1, 2000, 0),
    },
    "reverb": {
        "room_size": _p(0.5, 0, 1),
        "damping": _p(0.5, 0, 1),
        "wet_level": _p(0.33, 0, 1),
        "dry_level": _p(0.4, 0, 1),
        "tail_s": _p(1.0, 0, 10, 1),  # silence appended so the tail is kept, not cut
    },
    "distortion": {"drive_db": _p(10, 0, 60, 1)},
    "gain": {"gain_db": _p(0, -60, 24, 1)},
    "pitch_shift": {"semitones": _p(0, -12, 12, 2)},
    "time_stretch": {"ratio": _p(1, 0.5, 2, 3)},  # output length / input length, pitch kept
}

#: Named chains (docs/effects.md says what each does).
PRESETS: dict[str, tuple[tuple[str, dict[str, float]], ...]] = {
    "telephone": (
        ("highpass", {"cutoff_hz": 300, "order": 4}),
        ("lowpass", {"cutoff_hz": 3000, "order": 6}),
        ("distortion", {"drive_db": 6}),
        ("compressor", {"threshold_db": -24, "ratio": 6}),
    ),
    "radio": (
        ("highpass", {"cutoff_hz": 200, "order": 3}),
        ("lowpass", {"cutoff_hz": 5000, "order": 3}),
        ("peak", {"cutoff_hz": 2000, "gain_db": 4, "q": 1}),
        ("compressor", {"threshold_db": -22, "ratio": 8}),
    ),
    "megaphone": (  # distortion before the low-pass, which softens its harmonics
        ("highpass", {"cutoff_hz": 500, "order": 3}),
        ("peak", {"cutoff_hz": 1500, "gain_db": 8, "q": 2}),
        ("distortion", {"drive_db": 18}),
        ("lowpass", {"cutoff_hz": 4000, "order": 3}),
        ("gain", {"gain_db": -8}),
    ),
    "small_room": (
        ("reverb", {"room_size": 0.2, "damping": 0.7, "wet_level": 0.2, "dry_level": 0.8}),
    ),
    "large_hall": (
        (
            "reverb",
            {"room_size": 0.9, "damping": 0.3, "wet_level": 0.4, "dry_level": 0.6, "tail_s": 3},
        ),
    ),
}


@dataclass(frozen=True)
class Effect:
    """One effect of a chain: its type and every parameter, resolved and rounded."""

    type: str
    params: tuple[tuple[str, float], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **dict(self.params)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Effect:
        """A mapping ``{type: ..., param: value}``; unknown types, names or out-of-range
        values raise :class:`ValueError` with the allowed ones. Missing parameters get the
        type's defaults.

        >>> Effect.from_dict({"type": "gain", "gain_db": 3.14159}).params
        (('gain_db', 3.1),)
        """
        kind = str(data.get("type", ""))
        specs = EFFECT_TYPES.get(kind)
        if specs is None:
            raise ValueError(
                f"unknown effect type {kind!r}; types: {', '.join(sorted(EFFECT_TYPES))}"
            )
        given = {str(k): v for k, v in data.items() if k != "type"}
        params: dict[str, float] = {}
        for name, value in given.items():
            spec = specs.get(name)
            if spec is None:
                raise ValueError(
                    f"unknown parameter {name!r} for effect {kind!r}; allowed: "
                    f"{', '.join(sorted(specs))}"
                )
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"effect {kind!r}: parameter {name!r} must be a number")
            if not spec.minimum <= float(value) <= spec.maximum:
                raise ValueError(
                    f"effect {kind!r}: {name} = {value:g} is out of range "
                    f"({spec.minimum:g} to {spec.maximum:g})"
                )
            params[name] = float(value)
        resolved = {
            name: round(params.get(name, spec.default), spec.decimals)
            for name, spec in specs.items()
        }
        return cls(kind, tuple(sorted(resolved.items())))


def resolve_chain(items: Sequence[str | Mapping[str, Any]]) -> tuple[Effect, ...]:
    """A chain as written in config or a script (preset names and mappings), expanded.

    >>> [e.type for e in resolve_chain(["small_room", {"type": "gain", "gain_db": -3}])]
    ['reverb', 'gain']
    """
    out: list[Effect] = []
    for item in items:
        if isinstance(item, str):
            preset = PRESETS.get(item)
            if preset is None:
                raise ValueError(
                    f"unknown effect preset {item!r}; presets: {', '.join(sorted(PRESETS))} "
                    "(or write a mapping with 'type:')"
                )
            out.extend(Effect.from_dict({"type": kind, **params}) for kind, params in preset)
        elif isinstance(item, Mapping):
            out.append(Effect.from_dict(item))
        else:
            raise ValueError(f"an effect is a preset name or a mapping with 'type:', not {item!r}")
    return tuple(out)


#: The pedalboard plugin of each effect type, and its keyword for each of our parameters
#: (``order`` repeats a filter; ``tail_s`` pads before the reverb; both are ours).
_PLUGINS: dict[str, tuple[str, dict[str, str]]] = {
    "highpass": ("HighpassFilter", {"cutoff_hz": "cutoff_frequency_hz"}),
    "lowpass": ("LowpassFilter", {"cutoff_hz": "cutoff_frequency_hz"}),
    "peak": ("PeakFilter", {"cutoff_hz": "cutoff_frequency_hz", "gain_db": "gain_db", "q": "q"}),
    "compressor": (
        "Compressor",
        {n: n for n in ("threshold_db", "ratio", "attack_ms", "release_ms")},
    ),
    "reverb": ("Reverb", {n: n for n in ("room_size", "damping", "wet_level", "dry_level")}),
    "distortion": ("Distortion", {"drive_db": "drive_db"}),
    "gain": ("Gain", {"gain_db": "gain_db"}),
}


def _plugins(effect: Effect) -> list[Any]:
    import pedalboard

    name, keywords = _PLUGINS[effect.type]
    p = dict(effect.params)
    plugin = getattr(pedalboard, name)
    kwargs = {keyword: p[ours] for ours, keyword in keywords.items()}
    return [plugin(**kwargs) for _ in range(int(p.get("order", 1)))]


def apply_chain(audio: Audio, chain: Sequence[Effect]) -> Audio:
    """Apply ``chain`` in order. A reverb first gets ``tail_s`` of silence appended so its
    tail is kept (the result is longer; assembly trims and fades it)."""
    for effect in chain:
        p = dict(effect.params)
        if effect.type == "pitch_shift":
            audio = audio.pitch_shifted(p["semitones"])
            continue
        if effect.type == "time_stretch":
            audio = audio.time_stretched(p["ratio"])
            continue
        samples = audio.samples
        if effect.type == "reverb" and p["tail_s"] > 0:
            pad = np.zeros(round(p["tail_s"] * audio.sample_rate), dtype=np.float32)
            samples = np.concatenate([samples, pad])
        from pedalboard import Pedalboard

        board = Pedalboard(_plugins(effect))
        out = board(samples[np.newaxis, :].astype(np.float32), audio.sample_rate)
        audio = Audio(np.asarray(out[0], dtype=np.float32), audio.sample_rate)
    return audio
