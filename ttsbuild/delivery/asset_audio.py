"""One voice asset's audio: join a line's segments, trim, master (loudness with a look-ahead
true-peak limiter, or peak), encode, and measure the levels again from the decoded file."""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ttsbuild.assembly.limiter import loudness, match_loudness, true_peak_limit
from ttsbuild.assembly.mastering import to_db, true_peak
from ttsbuild.config.settings import ASSET_FORMATS, AssetSettings
from ttsbuild.core.audio import Audio, concat, read_audio
from ttsbuild.core.errors import StoreError
from ttsbuild.core.fsutil import write_bytes_atomic
from ttsbuild.delivery.asset_changes import AssetEntry
from ttsbuild.delivery.asset_plan import Line
from ttsbuild.store.segments import segment_path

#: The bitrates (kbps) libsndfile's compression levels 1 and 0 stand for, per encoder.
_BITRATE_SPAN = {"MPEG_LAYER_III": (32, 320), "OPUS": (6, 256), "VORBIS": (32, 320)}


def join_and_trim(parts: list[Audio], settings: AssetSettings, chunk_gap_ms: float) -> Audio:
    """A line's chunks joined by ``chunk_gap_ms`` of silence, resampled, with exactly
    ``margin_ms`` before the first and after the last sample above ``trim_db``: longer
    silence is cut, shorter silence padded, so every file's speech starts at the margin."""
    rate = settings.sample_rate
    gap = Audio.silence(round(chunk_gap_ms * rate / 1000), rate)
    joined: list[Audio] = []
    for i, part in enumerate(parts):
        if i:
            joined.append(gap)
        joined.append(part.resampled(rate))
    audio = concat(joined, rate)
    loud = np.flatnonzero(np.abs(audio.samples) > 10 ** (settings.trim_db / 20))
    if loud.size == 0:
        return Audio.silence(0, rate)
    keep = round(settings.margin_ms * rate / 1000)
    start, end = max(0, int(loud[0]) - keep), min(audio.num_samples, int(loud[-1]) + 1 + keep)
    lead = np.zeros(keep - (int(loud[0]) - start), np.float32)  # too little silence: pad
    tail = np.zeros(keep - (end - int(loud[-1]) - 1), np.float32)
    return Audio(np.concatenate([lead, audio.samples[start:end], tail]), rate)


def master_line(audio: Audio, settings: AssetSettings, uid: str) -> tuple[Audio, dict[str, Any]]:
    """One file's gain and limiting: ``loudness``: to the target with the look-ahead true-peak
    limiter (:func:`ttsbuild.assembly.limiter.match_loudness`); ``peak``: its true peak to the
    ceiling; ``none``: as rendered, limited only over the ceiling. Levels are measured again
    from the encoded file by :func:`encode_line`."""
    peak = true_peak(audio)
    mode = settings.normalize
    ceiling = settings.true_peak_dbtp
    gain_db, limited = 0.0, False
    if mode == "loudness" and np.isfinite(loudness(audio)):
        out, gain_db, limited = match_loudness(audio, settings.loudness_lufs, ceiling)
    else:
        if mode == "loudness" and audio.num_samples < 0.4 * audio.sample_rate:
            mode = "peak (shorter than BS.1770's 400 ms block: loudness not measurable)"
        elif mode == "loudness":
            mode = "peak (loudness under the -70 LUFS gate: not measurable)"
        if mode.startswith("peak") and peak > 0:
            gain_db = ceiling - to_db(peak)
        out = audio.with_gain(float(10 ** (gain_db / 20)))
        if not mode.startswith("peak") and peak > 10 ** (ceiling / 20):
            out, limited = true_peak_limit(out, ceiling), True
    return out, {"normalization": mode, "gain_db": round(gain_db, 2), "limited": limited}


def decoded(data: bytes) -> Audio:
    """A file's bytes decoded again (mono: the first channel)."""
    import soundfile as sf

    samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return Audio(np.ascontiguousarray(samples[:, 0]), int(rate))


def encode_line(audio: Audio, settings: AssetSettings) -> tuple[bytes, dict[str, Any]]:
    """The file's bytes, and its loudness and true peak measured from those bytes decoded
    (BS.1770 with pyloudnorm, 4x oversampled true peak). A lossy encoder's overshoot past the
    ceiling is taken off with a gain and the file encoded again (at most three times)."""
    ceiling = settings.true_peak_dbtp
    trim_db = 0.0  # what was taken off for the encoder's overshoot (``encoder_gain_db``)
    for attempt in range(4):
        data = encode(audio, settings)
        back = decoded(data)
        peak = true_peak(back)
        if not back.num_samples or to_db(peak) <= ceiling + 0.005 or attempt == 3:
            break
        step = ceiling - to_db(peak) - 0.02 * (attempt + 1)  # a little more each time
        trim_db += step
        audio = audio.with_gain(float(10 ** (step / 20)))
    level = loudness(back) if back.num_samples else float("-inf")
    return data, {
        "loudness_lufs": round(level, 2) if np.isfinite(level) else None,
        "true_peak_dbtp": round(to_db(peak), 2) if peak > 0 else None,
        **({"encoder_gain_db": round(trim_db, 2)} if trim_db else {}),
    }


def encode(audio: Audio, settings: AssetSettings) -> bytes:
    """The file's bytes in the configured format, channels and bitrate."""
    import soundfile as sf

    fmt, subtype, _ = ASSET_FORMATS[settings.format]
    data = np.clip(audio.samples, -1.0, 1.0)
    if settings.channels == 2:
        data = np.column_stack([data, data])
    level = None
    span = _BITRATE_SPAN.get(subtype)
    if settings.bitrate_kbps is not None and span is not None:
        # libsndfile's compression level: 0 is the encoder's highest bitrate, 1 its lowest
        # (a straight line between them for MP3 CBR and Opus; a quality level for Vorbis).
        low, high = span
        level = min(1.0, max(0.0, (high - settings.bitrate_kbps) / (high - low)))
    buf = io.BytesIO()
    with sf.SoundFile(
        buf,
        "w",
        settings.sample_rate,
        settings.channels,
        subtype,
        format=fmt,
        compression_level=level,
        bitrate_mode="CONSTANT" if level is not None and fmt == "MP3" else None,
    ) as out:
        out.write(data)
    return buf.getvalue()


def _load(store: Path, key: str) -> Audio:
    path = segment_path(store, key)
    try:
        return read_audio(path)
    except Exception as exc:
        raise StoreError(
            f"{path}: stored segment cannot be decoded ({exc}); run 'ttsbuild verify --delete' "
            "and build again"
        ) from None


def _make_asset(
    line: Line,
    entry: AssetEntry,
    path: Path,
    store: Path,
    settings: AssetSettings,
    chunk_gap_ms: float,
    warnings: list[dict[str, str]],
) -> tuple[AssetEntry, bool]:
    """Join, master and encode one line's file (written only when its bytes change); the
    entry with its measured levels, and whether the file was written."""
    audio = join_and_trim([_load(store, s.key) for s in line.segments], settings, chunk_gap_ms)
    mastered, levels = master_line(audio, settings, entry.id)
    data, measured = encode_line(mastered, settings)
    levels.update(measured)
    duration = round(mastered.num_samples / settings.sample_rate, 6)
    warnings.extend(asset_warnings(entry.id, duration, levels, settings))
    with contextlib.suppress(OSError):
        if path.read_bytes() == data:
            data = b""  # same bytes: leave the file (and its mtime) alone
    if data:
        write_bytes_atomic(path, data)
    digest = hashlib.sha256(data or path.read_bytes()).hexdigest()
    return replace(entry, duration=duration, sha256=digest, levels=levels), bool(data)


def asset_warnings(
    uid: str, duration: float, levels: Mapping[str, Any], settings: AssetSettings
) -> list[dict[str, str]]:
    """What a line's file says about itself, from its duration and measured levels: silent,
    normalized another way than asked, or off its loudness target. A file kept from an
    earlier build gives the same warnings as when it was made."""
    said = []
    if not duration:
        said.append("silent after trimming: an empty file")
    how = levels.get("normalization", settings.normalize)
    if how != settings.normalize:
        said.append(str(how))
    off = _off_target(levels, settings)
    if off:
        said.append(off)
    return [{"id": uid, "warning": w} for w in said]


def _off_target(levels: Mapping[str, Any], settings: AssetSettings) -> str:
    """A warning when a loudness-normalized file missed its target by more than 0.5 LU (it
    would have needed more limiting than :func:`match_loudness` allows), else ""."""
    got = levels.get("loudness_lufs")
    if levels.get("normalization") != "loudness" or got is None:
        return ""
    if abs(got - settings.loudness_lufs) <= 0.5:
        return ""
    trim = levels.get("encoder_gain_db")
    if trim:
        return (
            f"loudness {got} LUFS, target {settings.loudness_lufs}: the {settings.format} "
            f"encoder overshot the {settings.true_peak_dbtp} dBTP ceiling, so {trim} dB was "
            "taken off the file (a lossless format keeps the target)"
        )
    return (
        f"loudness {got} LUFS, target {settings.loudness_lufs}: reaching it under the "
        f"{settings.true_peak_dbtp} dBTP ceiling would need more than 12 dB of limiting"
    )
