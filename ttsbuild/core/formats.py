"""The one delivery-format table: audio file formats by suffix (libsndfile format and subtype).

Used by assembly (the episode file) and delivery (transcoding). Imports: core.errors.
"""

from __future__ import annotations

from pathlib import Path

from ttsbuild.core.errors import RenderError

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
