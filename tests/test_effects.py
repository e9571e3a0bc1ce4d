"""Effects: declared and rounded parameters, presets, and what the telephone and reverb do."""

from __future__ import annotations

import numpy as np
import pytest

from ttsbuild.config.settings import OutputSettings
from ttsbuild.core.audio import Audio
from ttsbuild.core.effects import EFFECT_TYPES, PRESETS, Effect, apply_chain, resolve_chain

RATE = 16000


def high_band_share(audio: Audio, above_hz: float = 4000.0) -> float:
    """The share of a signal's energy above ``above_hz`` (numpy FFT)."""
    spectrum = np.abs(np.fft.rfft(audio.samples.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(audio.num_samples, 1.0 / audio.sample_rate)
    return float(spectrum[freqs > above_hz].sum() / spectrum.sum())


def voice_like(seconds: float = 1.0, seed: int = 1) -> Audio:
    t = np.arange(int(seconds * RATE)) / RATE
    rng = np.random.default_rng(seed)
    samples = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)
    return Audio(samples.astype(np.float32), RATE)


def test_parameters_are_rounded_and_defaults_filled():
    effect = Effect.from_dict({"type": "lowpass", "cutoff_hz": 3400.4})
    assert effect.params == (("cutoff_hz", 3400.0), ("order", 1.0))
    assert Effect.from_dict(effect.to_dict()) == effect


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"type": "flanger"}, "unknown effect type 'flanger'"),
        ({"type": "gain", "db": 3}, "unknown parameter 'db' for effect 'gain'; allowed: gain_db"),
        ({"type": "lowpass", "cutoff_hz": 5}, "out of range (20 to 20000)"),
        ({"type": "gain", "gain_db": "loud"}, "must be a number"),
        ("telefone", "unknown effect preset 'telefone'; presets: large_hall, megaphone"),
    ],
)
def test_bad_effects_name_what_is_allowed(item, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        resolve_chain([item])


def test_every_preset_resolves_and_runs():
    audio = voice_like(0.3)
    for name in PRESETS:
        chain = resolve_chain([name])
        assert chain and all(e.type in EFFECT_TYPES for e in chain)
        out = apply_chain(audio, chain)
        assert np.all(np.isfinite(out.samples)) and out.num_samples >= audio.num_samples


def test_telephone_removes_the_energy_above_4khz():
    audio = voice_like()
    before = high_band_share(audio)
    after = high_band_share(apply_chain(audio, resolve_chain(["telephone"])))
    assert before > 0.01  # the noise puts a few percent of the energy up there
    assert after < before / 50, (before, after)


def test_reverb_keeps_its_tail_and_assembly_fades_it_out():
    audio = voice_like(0.5)
    wet = apply_chain(audio, resolve_chain(["large_hall"]))
    assert wet.num_samples == audio.num_samples + 3 * RATE  # tail_s: 3
    tail = wet.samples[audio.num_samples : audio.num_samples + RATE // 10]
    assert np.sqrt(np.mean(tail**2)) > 1e-3  # the tail is there, not cut at the dry length
    settings = OutputSettings.from_dict({"sample_rate": RATE})
    clip = wet.trimmed(settings.trim_db).faded(settings.fade_ms)
    assert clip.num_samples > audio.num_samples  # trimming keeps the audible tail
    assert abs(float(clip.samples[-1])) < 1e-4  # and the fade ends it at zero: no click


def test_pitch_shift_and_time_stretch_are_audio_transforms():
    audio = voice_like(0.5)
    chain = resolve_chain([{"type": "time_stretch", "ratio": 1.5}])
    assert apply_chain(audio, chain).num_samples == pytest.approx(audio.num_samples * 1.5, rel=0.02)
    shifted = apply_chain(audio, resolve_chain([{"type": "pitch_shift", "semitones": 12}]))
    assert shifted.num_samples == audio.num_samples
