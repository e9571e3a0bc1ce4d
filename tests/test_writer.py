"""The episode writer: a WAV too long for RIFF's 32-bit sizes is written as RF64 (issue 18,
finding 3: an episode over ~24.85 hours was a broken WAV reported as a success)."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from ttsbuild.assembly import writer
from ttsbuild.core import formats


def _pieces(rate: int):
    yield rate, np.full(rate, 0.25, dtype=np.float32)


def test_long_wav_is_written_as_rf64_with_every_sample(tmp_path, monkeypatch):
    rate, total = 8000, 8000 * 5
    monkeypatch.setattr(formats, "WAV_MAX_SAMPLES", 8000 * 4)  # "4 GiB" scaled down
    path = tmp_path / "long.wav"
    writer._stream(path, rate, total, _pieces(rate))
    assert path.read_bytes()[:4] == b"RF64"
    info = sf.info(str(path))
    assert info.format == "RF64" and info.frames == total
    data, _ = sf.read(str(path), dtype="float32")
    assert np.allclose(data[rate : 2 * rate], 0.25, atol=1e-4) and not data[2 * rate :].any()


def test_short_wav_stays_plain_riff(tmp_path):
    path = tmp_path / "short.wav"
    writer._stream(path, 8000, 8000 * 3, _pieces(8000))
    assert path.read_bytes()[:4] == b"RIFF"
    assert sf.info(str(path)).frames == 8000 * 3


def test_threshold_is_where_riff_sizes_overflow():
    bytes_per_sample = 2  # PCM_16
    assert (formats.WAV_MAX_SAMPLES + 1) * bytes_per_sample + 1024 > 0xFFFFFFFF
    assert formats.output_format(formats.Path("e.wav"), 24000, 24000 * 3600 * 24)[0] == "WAV"
    assert formats.output_format(formats.Path("e.wav"), 24000, 24000 * 3600 * 25)[0] == "RF64"
    assert formats.output_format(formats.Path("e.flac"), 48000, 48000 * 3600 * 25)[0] == "FLAC"
