"""Delivery formats: the mastered episode WAV re-encoded by target suffix (streamed)."""

from __future__ import annotations

from pathlib import Path

from .errors import RenderError
from .fsutil import atomic_path

FORMATS = {
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "OPUS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
    ".wav": ("WAV", "PCM_16"),
}
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


def output_format(path: Path, rate: int) -> tuple[str, str]:
    """(libsndfile format, subtype) for an episode file, by suffix; checks the rate for Opus."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise RenderError(f"{path}: unsupported format (use .wav, .flac, .mp3 or .ogg)")
    if fmt[0] == "OGG" and rate not in OPUS_RATES:
        raise RenderError(
            f"{path}: Opus needs 8, 12, 16, 24 or 48 kHz; set output.sample_rate (now {rate})"
        )
    return fmt


def transcode(src: str | Path, dest: str | Path, block: int = 1 << 16) -> None:
    """Encode ``src`` to the format named by ``dest``'s suffix, keeping rate and length."""
    import soundfile as sf

    dest = Path(dest)
    with sf.SoundFile(str(src)) as reader:
        rate = reader.samplerate
        fmt = output_format(dest, rate)
        with atomic_path(dest) as tmp, sf.SoundFile(
            str(tmp), "w", rate, reader.channels, subtype=fmt[1], format=fmt[0]
        ) as writer:
            for data in reader.blocks(blocksize=block, dtype="float32", always_2d=True):
                writer.write(data)
