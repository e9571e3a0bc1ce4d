"""Voice assets: one mastered file per spoken line, named by its stable id, and a manifest.

``out/<episode>.assets.json`` lists every line id of the source: each spoken line's file
(planned per line id, not per segment: two lines with the same words are two files), and
under ``missing`` each line that has nothing to say, with its reason. The files live in
``assets.folder`` (default ``out/<episode>/``), which several episodes may share: each keeps
a copy of its last manifest (``.ttsbuild-assets.<episode>.json``), a file is an episode's
only if that copy lists it, and only such files are ever deleted or replaced. Make semantics per file: a line whose
fingerprint (segment keys + mastering settings) is unchanged and whose file still has the
recorded sha256 is not touched at all (same bytes, same mtime); any other line is mastered
and encoded, and written atomically only when its bytes differ.

Mastering: a line's chunks are joined, leading and trailing silence trimmed to a margin,
then the file is brought to the loudness target through a look-ahead true-peak limiter
(:mod:`ttsbuild.assembly.limiter`), or its true peak to the ceiling (``peak``). The manifest's
levels are measured from the encoded file decoded again.

Imports: core, config, planning, store, assembly, delivery.asset_changes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ttsbuild.assembly.limiter import loudness, match_loudness, true_peak_limit
from ttsbuild.assembly.mastering import to_db, true_peak
from ttsbuild.config.settings import ASSET_FORMATS, AssetSettings
from ttsbuild.core.audio import Audio, concat, read_audio
from ttsbuild.core.errors import AssetError, StoreError
from ttsbuild.core.fsutil import write_bytes_atomic, write_text_atomic, write_text_if_changed
from ttsbuild.delivery.asset_changes import AssetEntry, diff_assets
from ttsbuild.delivery.asset_plan import Line, asset_names, plan_lines
from ttsbuild.planning.key import canonical_json
from ttsbuild.planning.plan import EpisodePlan
from ttsbuild.store.segments import segment_path

log = logging.getLogger(__name__)

#: Bump when joining, trimming, mastering or encoding changes (every file is rebuilt).
ASSET_VERSION = 2  # 2: look-ahead true-peak limiter, levels measured from the decoded file
#: The record of the files one episode's build owns in the folder: a copy of its last
#: manifest, ``.ttsbuild-assets.<episode>.json``; older builds kept one record per folder (``RECORD``).
RECORD = ".ttsbuild-assets.json"


def record_name(episode: str) -> str:
    return f".ttsbuild-assets.{episode}.json"


#: The bitrates (kbps) libsndfile's compression levels 1 and 0 stand for, per encoder.
_BITRATE_SPAN = {"MPEG_LAYER_III": (32, 320), "OPUS": (6, 256), "VORBIS": (32, 320)}


def _digest(value: object) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()[:16]


def mastering_digest(settings: AssetSettings, chunk_gap_ms: float) -> str:
    """What shapes every file of the folder besides its segments, as one short hash."""
    return _digest([settings.mastering(), chunk_gap_ms])


def line_entry(line: Line, file: str, mastering: str) -> AssetEntry:
    """The manifest entry of a line before its file is written (no duration, sha256, levels)."""
    first = line.segments[0]
    req = first.request
    keys = tuple(s.key for s in line.segments)
    return AssetEntry(
        id=line.uid,
        file=file,
        character=first.speaker,
        text=" ".join(s.text for s in line.segments),
        language=req.language,
        line=first.line,
        segments=keys,
        voice={
            "engine": req.engine,
            "engine_version": req.engine_version,
            "model": req.model,
            "voice": req.voice.content_hash,
        },
        params={**dict(req.params), "seed": float(req.seed)},
        mastering=mastering,
        fingerprint=_digest([ASSET_VERSION, keys, mastering]),
        direction=first.note,
    )


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
    ceiling is taken off with a gain and the file encoded again (at most twice)."""
    ceiling = settings.true_peak_dbtp
    trim_db = 0.0  # what was taken off for the encoder's overshoot (``encoder_gain_db``)
    for _ in range(3):
        data = encode(audio, settings)
        back = decoded(data)
        peak = true_peak(back)
        if not back.num_samples or to_db(peak) <= ceiling + 0.005:
            break
        step = ceiling - to_db(peak) - 0.02
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


def _read_record(folder: Path, episode: str) -> tuple[list[AssetEntry], set[str], dict[str, Any]]:
    """The episode's last entries, every file name it owns in the folder (those entries' files
    and any claimed by a build that stopped half way), and the record as read. A folder from
    before per-episode records has one ``.ttsbuild-assets.json``: it is this episode's when
    its ``episode`` says so."""
    path = folder / record_name(episode)
    if not path.exists() and (folder / RECORD).exists():
        path = folder / RECORD
    try:
        data = json.loads(path.read_text("utf-8"))
        if path.name == RECORD and data.get("episode") != episode:
            return [], set(), {"assets": []}
        entries = [AssetEntry.from_dict(a) for a in data["assets"]]
        names = {Path(e.file).name for e in entries} | set(data.get("claimed", []))
    except FileNotFoundError:
        return [], set(), {"assets": []}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning(
            "ttsbuild: %s: unreadable (%s); no file in %s counts as the build's",
            path,
            exc,
            folder,
        )
        return [], set(), {"assets": []}
    plain = {n for n in names if n and os.path.basename(n) == n and not n.startswith(".")}
    return entries, plain, data


def _file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def build_assets(
    plan_file: str | Path,
    store: str | Path,
    settings: AssetSettings,
    chunk_gap_ms: float,
    folder: str | Path,
    manifest_out: str | Path,
    changes_out: str | Path,
) -> dict[str, Any]:
    """Bring the folder up to date with the plan; write the manifest and the change report.
    Returns the change report. A removed id in strict mode raises :class:`AssetError` before
    any file is written or deleted."""
    plan = EpisodePlan.from_dict(json.loads(Path(plan_file).read_text("utf-8")))
    store, folder, manifest_out = Path(store), Path(folder), Path(manifest_out)
    lines = plan_lines(plan)
    names = asset_names(plan, settings)
    rel = Path(os.path.relpath(folder.resolve(), manifest_out.parent.resolve()))
    mastering = mastering_digest(settings, chunk_gap_ms)
    entries = [line_entry(line, (rel / names[line.uid]).as_posix(), mastering) for line in lines]
    record_file = folder / record_name(plan.episode)
    previous, owned, record = _read_record(folder, plan.episode)
    changes = diff_assets(previous, entries)
    changes["episode"] = plan.episode
    missing = plan.missing()
    changes["missing"] = [m["id"] for m in missing]
    _check_strict(settings, changes, missing, plan.source, manifest_out, changes_out)
    # Claim the new names before writing any file: a build that stops half way still owns
    # what it wrote, and the next build may replace or delete it.
    claimed = owned | {Path(e.file).name for e in entries}
    for name in sorted(claimed - owned):
        if (folder / name).exists():
            raise AssetError(
                f"{folder / name}: exists but is not one of the build's files (not in "
                f"{folder / record_name(plan.episode)}); move it away or choose another assets.folder"
            )
    if claimed != owned or not record_file.exists():
        record["claimed"] = sorted(claimed)
        write_text_atomic(record_file, json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    before = {e.id: e for e in previous}
    written: list[str] = []
    warnings: list[dict[str, str]] = []
    final: list[AssetEntry] = []
    for line, entry in zip(lines, entries, strict=True):
        name = Path(entry.file).name
        path = folder / name
        old = before.get(entry.id)
        if (
            old is not None
            and old.fingerprint == entry.fingerprint
            and Path(old.file).name == name
            and _file_sha256(path) == old.sha256
        ):
            final.append(
                replace(entry, duration=old.duration, sha256=old.sha256, levels=old.levels)
            )
            continue
        audio = join_and_trim([_load(store, s.key) for s in line.segments], settings, chunk_gap_ms)
        if not audio.num_samples:
            warnings.append({"id": entry.id, "warning": "silent after trimming: an empty file"})
        mastered, levels = master_line(audio, settings, entry.id)
        if levels["normalization"] != settings.normalize:
            warnings.append({"id": entry.id, "warning": str(levels["normalization"])})
        data, measured = encode_line(mastered, settings)
        levels.update(measured)
        off = _off_target(levels, settings)
        if off:
            warnings.append({"id": entry.id, "warning": off})
        with contextlib.suppress(OSError):
            if path.read_bytes() == data:
                data = b""  # same bytes: leave the file (and its mtime) alone
        if data:
            write_bytes_atomic(path, data)
            written.append(entry.id)
        digest = hashlib.sha256(data or path.read_bytes()).hexdigest()
        duration = round(mastered.num_samples / settings.sample_rate, 6)
        final.append(replace(entry, duration=duration, sha256=digest, levels=levels))
    keep = {Path(e.file).name for e in final}
    deleted = []
    for name in sorted(set(owned) - keep):
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()
            deleted.append(name)
    manifest = {
        "episode": plan.episode,
        "source": plan.source,
        "folder": rel.as_posix(),
        "settings": {**settings.mastering(), "chunk_gap_ms": chunk_gap_ms},
        "assets": [e.to_dict() for e in final],
        "missing": missing,
    }
    text = json.dumps(manifest, indent=1, ensure_ascii=False) + "\n"
    write_text_if_changed(record_file, text)
    legacy = folder / RECORD
    with contextlib.suppress(OSError, ValueError):
        if json.loads(legacy.read_text("utf-8")).get("episode") == plan.episode:
            legacy.unlink()  # this episode's record from an older build, now under its own name
    write_text_if_changed(manifest_out, text)
    changes.update(written=written, deleted=deleted, warnings=warnings)
    write_text_atomic(changes_out, json.dumps(changes, indent=1, ensure_ascii=False) + "\n")
    for w in warnings:
        log.warning("ttsbuild: asset %s: %s", w["id"], w["warning"])
    for m in missing:
        log.warning(
            "ttsbuild: %s:%s: line id %s has no file: %s",
            plan.source,
            m["line"],
            m["id"],
            m["reason"],
        )
    log.info(
        "ttsbuild: assets %s: %d files in %s, %d written, %d deleted, %d missing; %s",
        plan.episode,
        len(final),
        folder,
        len(written),
        len(deleted),
        len(missing),
        changes["summary"],
    )
    return changes


def _off_target(levels: dict[str, Any], settings: AssetSettings) -> str:
    """A warning when a loudness-normalized file missed its target by more than 0.5 LU (it
    would have needed more limiting than :func:`match_loudness` allows), else ""."""
    got = levels.get("loudness_lufs")
    if levels["normalization"] != "loudness" or got is None:
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


def _check_strict(
    settings: AssetSettings,
    changes: dict[str, Any],
    missing: list[Any],
    source: str,
    manifest_out: Path,
    changes_out: str | Path,
) -> None:
    """Strict mode: a line id removed since the last build, or a line with no file, stops the
    build before any file is written or deleted (the change report says why)."""
    if not settings.strict or not (changes["removed"] or missing):
        return
    write_text_atomic(changes_out, json.dumps(changes, indent=1, ensure_ascii=False) + "\n")
    if changes["removed"]:
        raise AssetError(
            f"{manifest_out}: strict mode: {len(changes['removed'])} line id(s) removed since "
            f"the last build: {', '.join(changes['removed'])} ({changes['summary']}); restore "
            "the lines, or build once without assets.strict / TTSBUILD_ASSETS_STRICT=1"
        )
    first = missing[0]
    listed = ", ".join(f"{m['id']} (line {m['line']}: {m['reason']})" for m in missing[:10])
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    raise AssetError(
        f"{source}:{first['line']}: strict mode: {len(missing)} line id(s) have nothing to speak "
        f"and would get no file: {listed}{more}; give them words, or remove them"
    )
