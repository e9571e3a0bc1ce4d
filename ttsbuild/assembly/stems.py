"""Stems: one file per character on the episode's timeline (docs/mixing.md).

``out/<episode>.stems/<character>.wav`` holds that character's clips, each where it sits in
the episode, silence elsewhere; ``_sounds.wav`` holds the scene breaks' sounds. Every stem has
the episode's length, rate and sample format, and its clips are mastered exactly as in the
episode: the same layout, the same quantized gain, the same limiting, the same PCM bytes
(:class:`ttsbuild.assembly.writer.MasteredCache`). Clips never overlap on a script's or a
subtitle file's timeline, so the stems summed are the episode, sample for sample.

Incremental: each stem's content is named by a digest of what it is made of (the clips and
their places, the gain, the format); a stem whose digest and file are unchanged since the last
build is not written again. ``out/<episode>.stems.json`` is the index.

Imports: core, config, planning, store, and the other assembly modules.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ttsbuild.assembly.assemble import episode_layout, mastered_folder
from ttsbuild.assembly.clips import Piece
from ttsbuild.assembly.writer import (
    MASTER_VERSION,
    MasteredCache,
    episode_gain,
    pcm_width,
    write_pieces,
)
from ttsbuild.config.settings import OutputSettings
from ttsbuild.core.formats import output_format
from ttsbuild.core.fsutil import write_text_atomic
from ttsbuild.planning.key import canonical_json

log = logging.getLogger(__name__)

#: Bump when what a stem holds changes (every stem is written again).
STEMS_VERSION = 1
#: The stem of the scene breaks' sounds (a character's file name never starts with "_").
SOUNDS_STEM = "_sounds"
#: The longest stem name, in UTF-8 bytes (file systems allow 255 a name, with ".wav" and "-N").
MAX_STEM_BYTES = 200


def _fit(base: str, owner: str) -> str:
    """``base`` cut to :data:`MAX_STEM_BYTES`, with a digest of the whole name when cut."""
    if len(base.encode()) <= MAX_STEM_BYTES:
        return base
    cut = base.encode()[: MAX_STEM_BYTES - 9].decode(errors="ignore")
    return f"{cut}-{hashlib.sha256(owner.encode()).hexdigest()[:8]}"


def stem_names(owners: Sequence[str]) -> dict[str, str]:
    """A file name (no suffix) per owner: unsafe characters as ``_``, clashes numbered, a
    name longer than :data:`MAX_STEM_BYTES` cut, with a digest of the whole name.

    >>> stem_names(["narrator", "mary's mom", "mary_s mom", ""])
    {'narrator': 'narrator', "mary's mom": 'mary_s_mom', 'mary_s mom': 'mary_s_mom-2', '': '_sounds'}
    """
    names: dict[str, str] = {}
    taken: set[str] = set()
    for owner in owners:
        base = (
            (re.sub(r"[^\w.-]+", "_", owner).strip("._") or "character") if owner else SOUNDS_STEM
        )
        base = _fit(base, owner)
        name, n = base, 1
        while name.casefold() in taken:
            n += 1
            name = f"{base}-{n}"
        taken.add(name.casefold())
        names[owner] = name
    return names


def _digest(
    pieces: Sequence[Piece],
    rate: int,
    total: int,
    gain_db: float,
    fmt: str,
    mastered: MasteredCache,
    published: bool = False,
) -> str:
    """What the stem's bytes are a function of: each clip's place and its mastered name (the
    clip, the gain, the ceiling ``output.peak_dbfs`` and the PCM width). The clip's cache name
    (its segment files' identity included) decides whether the stem is written again; the
    ``published`` digest, in the index, names clips by content (:attr:`Piece.identity`), so
    it is the same whatever the build's history."""
    parts = [
        x
        for p in pieces
        for x in (p.start, mastered.mastered_name(p.identity if published else p.name, gain_db))
        + ((list(p.span),) if p.span is not None else ())
    ]
    ident = [STEMS_VERSION, MASTER_VERSION, rate, total, round(gain_db, 3), fmt, parts]
    return hashlib.sha256(canonical_json(ident).encode()).hexdigest()


def _unchanged(path: Path, digest: str, old: dict[str, Any]) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    return old.get("digest") == digest and old.get("file") == [st.st_size, st.st_mtime_ns]


def write_stems(
    plan_file: str | Path,
    store: str | Path,
    settings: OutputSettings,
    index_out: str | Path,
    cache_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Write ``<index>`` (``out/<episode>.stems.json``) and the stems in the folder beside it
    (``out/<episode>.stems/``), which ttsbuild owns: other ``.wav`` files there are removed."""
    plan, cache, layout = episode_layout(plan_file, store, settings, cache_dir)
    rate, total = settings.sample_rate, layout.total
    index_path = Path(index_out)
    folder = index_path.with_suffix("")
    folder.mkdir(parents=True, exist_ok=True)
    fmt, subtype = output_format(folder / "x.wav", rate, total)
    mastered = MasteredCache(
        mastered_folder(cache, plan.episode), settings.peak_dbfs, pcm_width(subtype)
    )
    gain_db, target = episode_gain(layout.pieces, settings, mastered, index_path)
    fmt_name = f"{fmt}/{subtype}"
    groups: dict[str, list[Piece]] = {}
    for piece in (part for whole in layout.pieces for part in whole.parts()):
        groups.setdefault(piece.owner, []).append(piece)
    if "" in groups:  # the sounds' stem after the characters'
        groups[""] = groups.pop("")
    names = stem_names(list(groups))
    state_file = Path(cache_dir) / "stems" / f"{plan.episode}.json" if cache_dir else None
    old_state: dict[str, Any] = {}
    if state_file is not None:
        with contextlib.suppress(OSError, ValueError):
            old_state = json.loads(state_file.read_text("utf-8"))
    state: dict[str, Any] = {}
    stems: list[dict[str, Any]] = []
    written = 0
    for owner, pieces in groups.items():
        path = folder / f"{names[owner]}.wav"
        digest = _digest(pieces, rate, total, gain_db, fmt_name, mastered)
        if not _unchanged(path, digest, old_state.get(path.name) or {}):
            write_pieces(path, rate, total, pieces, gain_db, settings, mastered)
            written += 1
        st = path.stat()
        state[path.name] = {"digest": digest, "file": [st.st_size, st.st_mtime_ns]}
        stems.append(
            {
                "character": owner or None,
                "file": f"{folder.name}/{path.name}",
                "clips": len(pieces),
                "digest": _digest(pieces, rate, total, gain_db, fmt_name, mastered, True)[:20],
            }
        )
    for stale in folder.glob("*.wav"):
        if stale.name not in state and not stale.name.startswith("."):
            stale.unlink()
            log.info("ttsbuild: %s: removed stem %s (no such character now)", plan.episode, stale)
    if state_file is not None:
        state_file.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(state_file, json.dumps(state, indent=1) + "\n")
    index = {
        "episode": plan.episode,
        "sample_rate": rate,
        "duration_samples": total,
        "duration": round(total / rate, 6),
        "gain_db": gain_db,
        "target_lufs": settings.loudness_lufs,
        **target,
        "stems": stems,
    }
    write_text_atomic(index_path, json.dumps(index, indent=1, ensure_ascii=False) + "\n")
    log.info(
        "ttsbuild: stems of %s: %d stems, %d written, %d unchanged",
        plan.episode,
        len(stems),
        written,
        len(stems) - written,
    )
    return index
