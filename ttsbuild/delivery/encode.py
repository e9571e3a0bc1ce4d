"""Delivery formats: the mastered episode WAV re-encoded by target suffix (streamed), with the
episode's title as a tag (FLAC, MP3, Opus) and the bit rates from ``output:`` in the config.

Imports: core, config.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ttsbuild.config.settings import DeliverySettings
from ttsbuild.core.formats import output_format
from ttsbuild.core.fsutil import atomic_path

log = logging.getLogger(__name__)


def transcode(
    src: str | Path,
    dest: str | Path,
    settings: DeliverySettings,
    title: str = "",
    block: int = 1 << 16,
) -> None:
    """Encode ``src`` to the format named by ``dest``'s suffix, keeping rate and length; tag
    the file with ``title`` (unless empty)."""
    import soundfile as sf

    dest = Path(dest)
    with sf.SoundFile(str(src)) as reader:
        rate = reader.samplerate
        fmt = output_format(dest, rate)
        options = _encoder_options(fmt[1], rate, settings)
        with atomic_path(dest) as tmp:
            with sf.SoundFile(
                str(tmp), "w", rate, reader.channels, subtype=fmt[1], format=fmt[0], **options
            ) as writer:
                for data in reader.blocks(blocksize=block, dtype="float32", always_2d=True):
                    writer.write(data)
            if title:
                tag_title(tmp, title)
            size = tmp.stat().st_size
        seconds = reader.frames / rate
    kbps = size * 8 / 1000 / seconds if seconds else 0.0
    log.info(
        "ttsbuild: wrote %s: %s %s, %d Hz, %.1f s, %d bytes (%.0f kbit/s)%s",
        dest,
        fmt[0],
        fmt[1],
        rate,
        seconds,
        size,
        kbps,
        f", title {title!r}" if title else "",
    )


def _encoder_options(subtype: str, rate: int, settings: DeliverySettings) -> dict[str, Any]:
    """libsndfile sets lossy bit rates through a compression level from 0 (highest rate) to 1
    (lowest), linear over the codec's range: MP3 from the MPEG layer's highest rate for the
    sample rate down to 32 or 8 kbit/s (LAME then takes the nearest rate of its table), Opus
    from 256 kbit/s down to 6. Level 1.0 itself is refused by libsndfile's MP3 encoder."""
    if subtype == "MPEG_LAYER_III":
        low, high = (32, 320) if rate >= 32000 else (8, 160) if rate >= 16000 else (8, 64)
        kbps = min(max(settings.mp3_bitrate_kbps, low), high)
        level = (high - kbps) / (high - low)
        return {"compression_level": min(level, 0.99), "bitrate_mode": "CONSTANT"}
    if subtype == "OPUS":
        low, high = 6, 256
        kbps = min(max(settings.opus_bitrate_kbps, low), high)
        return {"compression_level": min((high - kbps) / (high - low), 0.99)}
    return {}


def tag_title(path: Path, title: str) -> None:
    """Write the title tag (Vorbis comment, ID3 TIT2) with mutagen, in place."""
    import mutagen

    audio = mutagen.File(str(path), easy=True)
    if audio is None:
        return
    if audio.tags is None:
        audio.add_tags()
    audio["title"] = [title]
    audio.save()
