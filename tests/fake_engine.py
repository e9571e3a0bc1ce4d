"""A fast, deterministic fake engine for tests and bookkeeping benchmarks (never shipped).

Registered through ``TTSBUILD_ENGINE_PLUGINS=fake=tests.fake_engine:FakeEngine``. It renders a
tone whose pitch and length depend on the text, speed, voice and seed; it records each model
load as a line in the file named by ``TTSBUILD_FAKE_LOADS`` and can sleep on load
(``TTSBUILD_FAKE_LOAD_SECONDS``) to stand in for a slow engine. ``TTSBUILD_FAKE_FAIL`` makes
any text containing that word fail; ``TTSBUILD_FAKE_NAN`` makes it return NaN;
``TTSBUILD_FAKE_RENDER_SECONDS`` sleeps per render, ``TTSBUILD_FAKE_LENGTH_SCALE`` makes every
clip that many times longer (benchmarks of long episodes), and ``TTSBUILD_FAKE_RENDERS`` names a file
that gets one line per synthesized text (to count renders across processes).
``TTSBUILD_FAKE_NOISE`` (an amplitude) adds seeded white noise, so the render has energy at
every frequency (for tests of filters). ``TTSBUILD_FAKE_JITTER`` (an amplitude) adds unseeded
noise to every render and conversion: an engine that is deliberately not deterministic, as a GPU
kernel may be (tests of ``verify --deep``).
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np

from ttsbuild.core.audio import Audio
from ttsbuild.core.content import audio_content_hash, content_hash
from ttsbuild.engines import EngineInfo, EngineOptions, ParamSpec, RenderRequest, Voice

RATE = 16000


def jitter(samples: np.ndarray) -> np.ndarray:
    """``TTSBUILD_FAKE_JITTER``: unseeded noise, different on every call."""
    amount = float(os.environ.get("TTSBUILD_FAKE_JITTER", "0") or 0)
    if not amount:
        return samples
    noise = np.random.default_rng().standard_normal(samples.size)
    return (samples + amount * noise).astype(np.float32)


class FakeModel:
    def __init__(self, options: EngineOptions):
        self.options = options

    def synthesize(self, request: RenderRequest) -> Audio:
        fail = os.environ.get("TTSBUILD_FAKE_FAIL")
        if fail and fail in request.text:
            raise RuntimeError(f"fake failure on {fail!r}")
        h = hashlib.sha256(f"{request.text}|{request.voice.content_hash}|{request.seed}".encode())
        freq = 200 + int.from_bytes(h.digest()[:2], "big") % 400
        speed = request.param("speed", 1.0)
        scale = float(os.environ.get("TTSBUILD_FAKE_LENGTH_SCALE", "1") or 1)
        seconds = scale * (0.2 + 0.02 * len(request.text)) / speed
        sleep = float(os.environ.get("TTSBUILD_FAKE_RENDER_SECONDS", "0") or 0)
        if sleep:
            time.sleep(sleep)
        renders = os.environ.get("TTSBUILD_FAKE_RENDERS")
        if renders:
            with open(renders, "a", encoding="utf-8") as f:
                f.write(f"{os.getpid()} {request.text}\n")  # pid first, then the text
        t = np.arange(int(seconds * RATE), dtype=np.float32) / RATE
        samples = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
        noise = float(os.environ.get("TTSBUILD_FAKE_NOISE", "0") or 0)
        if noise:
            rng = np.random.default_rng(request.seed)
            samples += (noise * rng.standard_normal(samples.size)).astype(np.float32)
        if os.environ.get("TTSBUILD_FAKE_NAN") and os.environ["TTSBUILD_FAKE_NAN"] in request.text:
            samples[10] = np.nan
        return Audio(jitter(samples), RATE)


class FakeEngine:
    info = EngineInfo(
        name="fake",
        sample_rate=RATE,
        languages=frozenset({"en", "de", "fr"}),
        needs_reference_audio=False,
        needs_reference_text=False,
        params=(ParamSpec("brightness", 0.5, 0.0, 1.0, decimals=2),),
        default_model="fake-1",
    )

    def version(self) -> str:
        return "fake==1"

    def model_id(self, options: EngineOptions) -> str:
        return options.model or "fake-1"

    def voice_languages(self, voice: Voice) -> frozenset[str]:
        return self.info.languages or frozenset()

    def voice(self, reference: str, reference_text: str, project_dir: str) -> Voice:
        if reference in ("", "bundled"):
            return Voice("", "fake-default", reference_text)
        path = Path(reference)
        if not path.is_file():
            from ttsbuild.core.errors import VoiceError

            raise VoiceError(f"voice file {reference!r} not found")
        digest = audio_content_hash(path) if path.suffix != ".txt" else content_hash(path)
        return Voice(str(path), digest, reference_text)

    def load(self, options: EngineOptions) -> FakeModel:
        delay = float(os.environ.get("TTSBUILD_FAKE_LOAD_SECONDS", "0") or 0)
        if delay:
            time.sleep(delay)
        loads = os.environ.get("TTSBUILD_FAKE_LOADS")
        if loads:
            with open(loads, "a", encoding="utf-8") as f:
                f.write(f"{os.getpid()}\n")
        return FakeModel(options)


class FakeConverterModel(FakeModel):
    def convert(self, audio: Audio, voice: Voice) -> Audio:
        """Ring-modulate by a frequency taken from the target's content hash."""
        renders = os.environ.get("TTSBUILD_FAKE_RENDERS")
        if renders:
            with open(renders, "a", encoding="utf-8") as f:
                f.write(f"{os.getpid()} convert:{voice.content_hash[:8]}\n")
        freq = 30 + int(voice.content_hash[:4], 16) % 200
        t = np.arange(audio.num_samples, dtype=np.float32) / audio.sample_rate
        return Audio(jitter(audio.samples * np.cos(2 * np.pi * freq * t).astype(np.float32)), RATE)


class FakeConverter(FakeEngine):
    """A fake voice converter (``convert:`` with ``engine: fakevc``)."""

    info = EngineInfo(
        name="fakevc",
        sample_rate=RATE,
        languages=None,
        needs_reference_audio=True,
        needs_reference_text=False,
        default_model="fakevc-1",
    )
    converts = True

    def load(self, options: EngineOptions) -> FakeConverterModel:
        super().load(options)
        return FakeConverterModel(options)
