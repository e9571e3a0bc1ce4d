"""The one audio value type, and the conversions at the edges (file I/O, resampling, DSP).

Everything between engines, the store, timing and assembly is an :class:`Audio`: mono float32
samples plus a sample rate. Time is counted in integer samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ttsbuild.core.errors import RenderError
from ttsbuild.core.fsutil import atomic_path

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, eq=False)
class Audio:
    """Mono float32 samples in [-1, 1] at ``sample_rate`` Hz."""

    samples: FloatArray
    sample_rate: int

    def __post_init__(self) -> None:
        s = np.asarray(self.samples, dtype=np.float32)
        if s.ndim != 1:
            raise ValueError(f"Audio must be mono (1-D), got shape {s.shape}")
        if self.sample_rate <= 0:
            raise ValueError(f"sample rate must be positive, got {self.sample_rate}")
        s.setflags(write=False)
        object.__setattr__(self, "samples", s)

    @property
    def num_samples(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration(self) -> float:
        return self.num_samples / self.sample_rate

    @classmethod
    def silence(cls, num_samples: int, sample_rate: int) -> Audio:
        return cls(np.zeros(max(0, num_samples), dtype=np.float32), sample_rate)

    @classmethod
    def from_array(cls, data: npt.ArrayLike, sample_rate: int) -> Audio:
        """Any array (int PCM or float; mono, channels-last or channels-first) to mono float32."""
        arr = np.asarray(data)
        if np.issubdtype(arr.dtype, np.integer):
            arr = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max)
        arr = arr.astype(np.float32, copy=False)
        arr = np.squeeze(arr)
        if arr.ndim == 2:
            channel_axis = 0 if arr.shape[0] < arr.shape[1] else 1
            arr = arr.mean(axis=channel_axis)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        return cls(arr, int(sample_rate))

    def resampled(self, sample_rate: int) -> Audio:
        """High-quality resampling (soxr)."""
        if sample_rate == self.sample_rate:
            return self
        import soxr

        out = soxr.resample(self.samples, self.sample_rate, sample_rate, quality="HQ")
        return Audio(np.asarray(out, dtype=np.float32), sample_rate)

    def with_gain(self, factor: float) -> Audio:
        return Audio(self.samples * np.float32(factor), self.sample_rate)

    def peak(self) -> float:
        return float(np.max(np.abs(self.samples))) if self.num_samples else 0.0

    def rms(self) -> float:
        if not self.num_samples:
            return 0.0
        return float(np.sqrt(np.mean(np.square(self.samples, dtype=np.float64))))

    def trimmed(self, threshold_db: float = -50.0, keep_ms: float = 30.0) -> Audio:
        """Remove leading and trailing silence below ``threshold_db`` (dBFS), keeping a margin."""
        if not self.num_samples:
            return self
        threshold = 10 ** (threshold_db / 20)
        loud = np.flatnonzero(np.abs(self.samples) > threshold)
        if loud.size == 0:
            return Audio.silence(0, self.sample_rate)
        keep = round(keep_ms * self.sample_rate / 1000)
        start = max(0, int(loud[0]) - keep)
        end = min(self.num_samples, int(loud[-1]) + 1 + keep)
        return Audio(self.samples[start:end], self.sample_rate)

    def faded(self, fade_ms: float = 5.0) -> Audio:
        """Short linear fade in and out, so joins never click."""
        n = min(round(fade_ms * self.sample_rate / 1000), self.num_samples // 2)
        if n <= 0:
            return self
        s = self.samples.copy()
        ramp = np.linspace(0.0, 1.0, n, endpoint=False, dtype=np.float32)
        s[:n] *= ramp
        s[-n:] *= ramp[::-1]
        return Audio(s, self.sample_rate)

    def pitch_shifted(self, semitones: float) -> Audio:
        """Pitch shift keeping duration (Rubber Band through pedalboard)."""
        if semitones == 0 or not self.num_samples:
            return self
        from pedalboard import PitchShift

        out = PitchShift(semitones=float(semitones))(self.samples[np.newaxis, :], self.sample_rate)
        return Audio(np.asarray(out[0], dtype=np.float32), self.sample_rate)

    def time_stretched(self, ratio: float) -> Audio:
        """Change duration by ``ratio`` (output length / input length), keeping pitch."""
        if ratio == 1.0 or not self.num_samples:
            return self
        from pedalboard import time_stretch

        out = time_stretch(
            self.samples[np.newaxis, :].astype(np.float32),
            float(self.sample_rate),
            stretch_factor=1.0 / ratio,
            high_quality=True,
        )
        return Audio(np.asarray(out[0], dtype=np.float32), self.sample_rate)


def concat(parts: list[Audio], sample_rate: int) -> Audio:
    """Join audio values that all share ``sample_rate``."""
    for p in parts:
        if p.sample_rate != sample_rate:
            raise ValueError(f"cannot join {p.sample_rate} Hz audio into a {sample_rate} Hz track")
    if not parts:
        return Audio.silence(0, sample_rate)
    return Audio(np.concatenate([p.samples for p in parts]), sample_rate)


def read_audio(path: str | Path) -> Audio:
    """Decode any format soundfile reads (WAV, FLAC, OGG, MP3) to mono float32."""
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return Audio(data.mean(axis=1).astype(np.float32), int(rate))


def encode_wav(audio: Audio) -> bytes:
    """The bytes :func:`write_audio` writes for a ``.wav`` (24-bit PCM), made in memory so
    that a content hash can be recorded before the file exists (the store's sidecar)."""
    import io

    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(
        buffer, np.clip(audio.samples, -1.0, 1.0), audio.sample_rate, format="WAV", subtype="PCM_24"
    )
    return buffer.getvalue()


def decode_audio_bytes(data: bytes) -> Audio:
    """Decode audio held in memory (as :func:`read_audio` does a file) to mono float32."""
    import io

    import soundfile as sf

    samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return Audio(samples.mean(axis=1).astype(np.float32), int(rate))


def write_audio(path: str | Path, audio: Audio, subtype: str | None = None) -> None:
    """Write atomically; the format comes from the suffix.

    WAV defaults to 24-bit PCM: libsndfile stamps float WAVs with a time (PEAK chunk), which
    would make identical renders differ byte for byte.
    """
    import soundfile as sf

    path = Path(path)
    fmt = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".mp3": "MP3"}.get(path.suffix.lower())
    if fmt is None:
        raise RenderError(
            f"{path}: unsupported audio format {path.suffix!r} (use .wav, .flac, .ogg or .mp3)"
        )
    if subtype is None:
        subtype = {"WAV": "PCM_24", "FLAC": "PCM_24", "OGG": "OPUS", "MP3": "MPEG_LAYER_III"}[fmt]
    samples = np.clip(audio.samples, -1.0, 1.0)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), samples, audio.sample_rate, format=fmt, subtype=subtype)


def check_audio(audio: Audio, *, what: str, max_seconds: float | None = None) -> None:
    """Reject audio that is unusable: NaN/inf, empty, silent, or runaway long."""
    if not audio.num_samples:
        raise RenderError(f"{what}: the engine returned no audio")
    if not np.all(np.isfinite(audio.samples)):
        raise RenderError(f"{what}: the engine returned NaN or infinite samples")
    if audio.peak() < 1e-4:
        raise RenderError(f"{what}: the engine returned silence")
    if max_seconds is not None and audio.duration > max_seconds:
        raise RenderError(
            f"{what}: the engine returned {audio.duration:.1f} s of audio, far longer than the "
            f"text warrants (limit {max_seconds:.1f} s); the generation ran away"
        )
