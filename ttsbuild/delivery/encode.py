"""Delivery formats: the mastered episode WAV re-encoded by target suffix (streamed)."""

from __future__ import annotations

from pathlib import Path

from ttsbuild.core.formats import output_format
from ttsbuild.core.fsutil import atomic_path


def transcode(src: str | Path, dest: str | Path, block: int = 1 << 16) -> None:
    """Encode ``src`` to the format named by ``dest``'s suffix, keeping rate and length."""
    import soundfile as sf

    dest = Path(dest)
    with sf.SoundFile(str(src)) as reader:
        rate = reader.samplerate
        fmt = output_format(dest, rate)
        with (
            atomic_path(dest) as tmp,
            sf.SoundFile(
                str(tmp), "w", rate, reader.channels, subtype=fmt[1], format=fmt[0]
            ) as writer,
        ):
            for data in reader.blocks(blocksize=block, dtype="float32", always_2d=True):
                writer.write(data)
