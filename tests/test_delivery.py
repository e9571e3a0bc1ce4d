"""Delivery files: bit rates from the config and the episode's title as a tag (mutagen)."""

from __future__ import annotations

from pathlib import Path

import mutagen
import numpy as np
import pytest
import soundfile as sf

from ttsbuild.config.settings import DeliverySettings
from ttsbuild.delivery.encode import transcode


@pytest.fixture
def episode_wav(tmp_path: Path) -> Path:
    rate = 24000
    noise = 0.2 * np.random.default_rng(1).standard_normal(rate * 6)
    path = tmp_path / "ep1.wav"
    sf.write(str(path), noise.astype(np.float32), rate, subtype="PCM_16")
    return path


def test_schema_defaults():
    assert DeliverySettings.from_dict({}) == DeliverySettings(128, 64)


@pytest.mark.parametrize("kbps", [32, 64, 128])
@pytest.mark.parametrize("suffix", [".mp3", ".ogg"])
def test_bitrate_setting_is_what_the_file_gets(episode_wav: Path, suffix: str, kbps: int):
    settings = DeliverySettings.from_dict({"mp3_bitrate_kbps": kbps, "opus_bitrate_kbps": kbps})
    dest = episode_wav.with_suffix(suffix)
    transcode(episode_wav, dest, settings, "Episode one")
    info = mutagen.File(str(dest)).info
    measured = dest.stat().st_size * 8 / 1000 / info.length
    assert abs(measured - kbps) / kbps < 0.15, (suffix, kbps, measured)
    if suffix == ".mp3":
        assert info.bitrate == kbps * 1000  # constant bit rate, as set


@pytest.mark.parametrize("suffix", [".flac", ".mp3", ".ogg"])
def test_title_tag(episode_wav: Path, suffix: str):
    dest = episode_wav.with_suffix(suffix)
    transcode(episode_wav, dest, DeliverySettings.from_dict({}), "Die Brücke – Teil 1")
    assert mutagen.File(str(dest), easy=True)["title"] == ["Die Brücke – Teil 1"]
    data, rate = sf.read(str(dest))
    assert rate == 24000 and abs(len(data) - 6 * rate) < 2000  # still the episode's audio
