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

#: The longest episode timeline (docs/reliability.md): checked when planning (pauses and
#: subtitle cue times) and again when assembling (the whole timeline).
MAX_TIMELINE_SECONDS = 48 * 3600
#: A RIFF WAV's sizes are 32-bit: above this many 16-bit samples (24.8 hours at 24 kHz, 12.4 at 48)
#: the episode is written as RF64, the 64-bit WAV that libsndfile and common readers read.
WAV_MAX_SAMPLES = (0xFFFFFFFF - 1024) // 2


def output_format(path: Path, rate: int, samples: int = 0) -> tuple[str, str]:
    """(libsndfile format, subtype) for an episode file, by suffix; checks the rate for Opus.

    A ``.wav`` of more than :data:`WAV_MAX_SAMPLES` samples is RF64 (a plain RIFF header
    cannot hold its size).

    >>> output_format(Path("a.wav"), 48000, 48000 * 3600 * 25)
    ('RF64', 'PCM_16')
    """
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise RenderError(f"{path}: unsupported format (use .wav, .flac, .mp3 or .ogg)")
    if fmt[0] == "WAV" and samples > WAV_MAX_SAMPLES:
        return "RF64", fmt[1]
    if fmt[0] == "OGG" and rate not in OPUS_RATES:
        raise RenderError(
            f"{path}: Opus needs 8, 12, 16, 24 or 48 kHz; set output.sample_rate (now {rate})"
        )
    return fmt
