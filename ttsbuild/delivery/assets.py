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
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ttsbuild.config.settings import AssetSettings
from ttsbuild.core.errors import AssetError
from ttsbuild.core.fsutil import write_text_atomic, write_text_if_changed
from ttsbuild.delivery.asset_audio import (  # noqa: F401
    _make_asset,
    asset_warnings,
    encode,
    join_and_trim,
)
from ttsbuild.delivery.asset_changes import AssetEntry, diff_assets
from ttsbuild.delivery.asset_plan import Line, asset_names, plan_lines
from ttsbuild.planning.key import canonical_json
from ttsbuild.planning.plan import EpisodePlan

log = logging.getLogger(__name__)

#: Bump when joining, trimming, mastering or encoding changes (every file is rebuilt).
ASSET_VERSION = 2  # 2: look-ahead true-peak limiter, levels measured from the decoded file
#: The record of the files one episode's build owns in the folder: a copy of its last
#: manifest, ``.ttsbuild-assets.<episode>.json``; older builds kept one record per folder (``RECORD``).
RECORD = ".ttsbuild-assets.json"


def record_name(episode: str) -> str:
    return f".ttsbuild-assets.{episode}.json"


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


def _claim(
    folder: Path, episode: str, owned: set[str], entries: list[AssetEntry], record: dict[str, Any]
) -> set[str]:
    """Claim the new names before writing any file: a build that stops half way still owns
    what it wrote, and the next build may replace or delete it. Returns the claimed names."""
    record_file = folder / record_name(episode)
    claimed = owned | {Path(e.file).name for e in entries}
    for name in sorted(claimed - owned):
        if (folder / name).exists():
            raise AssetError(
                f"{folder / name}: exists but is not one of the build's files (not in "
                f"{record_file}); move it away or choose another assets.folder"
            )
    if claimed != owned or not record_file.exists():
        record["claimed"] = sorted(claimed)
        write_text_atomic(record_file, json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    return claimed


def _log_result(
    plan: EpisodePlan,
    folder: Path,
    final: list[AssetEntry],
    written: list[str],
    deleted: list[str],
    warnings: list[dict[str, str]],
    missing: list[Mapping[str, Any]],
    changes: dict[str, Any],
) -> None:
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
    _claim(folder, plan.episode, owned, entries, record)
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
            warnings.extend(asset_warnings(entry.id, old.duration, old.levels, settings))
            continue
        made, wrote = _make_asset(line, entry, path, store, settings, chunk_gap_ms, warnings)
        final.append(made)
        if wrote:
            written.append(entry.id)
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
    _log_result(plan, folder, final, written, deleted, warnings, missing, changes)
    return changes


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
