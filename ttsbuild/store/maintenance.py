"""Store maintenance: ``verify`` (decode everything, find corrupt files) and ``gc``.

Both work under the same per-segment locks as rendering, so they are safe to run while builds
that share the store are running: a segment being rendered is never touched.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ttsbuild.store.segments import (
    LOCK_DIR,
    remove_segment,
    segment_lock,
    segment_path,
    sidecar_keys,
    sidecar_path,
    stored_keys,
    temp_file_key,
    temp_files,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Problem:
    """A file in the store that is not what it should be."""

    path: Path
    key: str | None
    message: str
    corrupt: bool  # True: the segment is unusable and must be rendered again


@dataclass
class VerifyReport:
    checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)

    @property
    def corrupt(self) -> list[Problem]:
        return [p for p in self.problems if p.corrupt]


def check_segment(store: Path, key: str) -> list[Problem]:
    """Decode one stored segment and compare it with its sidecar."""
    import soundfile as sf

    path = segment_path(store, key)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return [Problem(path, key, f"cannot be read ({exc.strerror})", True)]
    try:
        data, rate = sf.read(io.BytesIO(raw), dtype="float32", always_2d=True)
    except Exception as exc:  # noqa: BLE001 - any decoder failure means corrupt
        return [Problem(path, key, f"cannot be decoded ({exc})", True)]
    if data.shape[0] == 0:
        return [Problem(path, key, "holds no audio", True)]
    if not np.all(np.isfinite(data)):
        return [Problem(path, key, "holds NaN or infinite samples", True)]
    side = sidecar_path(store, key)
    try:
        meta = json.loads(side.read_text("utf-8"))
    except FileNotFoundError:
        return [
            Problem(
                side,
                key,
                "segment has no sidecar (explain cannot say why it was "
                "rendered; the audio itself is fine)",
                False,
            )
        ]
    except (OSError, ValueError) as exc:
        return [Problem(side, key, f"sidecar is not valid JSON ({exc})", True)]
    if not isinstance(meta, dict) or meta.get("key") != key:
        return [Problem(side, key, "sidecar belongs to another segment", True)]
    problems = []
    if meta.get("samples") is not None and int(meta["samples"]) != data.shape[0]:
        problems.append(
            Problem(
                path,
                key,
                f"has {data.shape[0]} samples, its sidecar says "
                f"{meta['samples']} (truncated or altered)",
                True,
            )
        )
    if meta.get("sample_rate") is not None and int(meta["sample_rate"]) != rate:
        problems.append(
            Problem(path, key, f"is {rate} Hz, its sidecar says {meta['sample_rate']} Hz", True)
        )
    recorded = meta.get("sha256")
    if not problems and recorded is not None and hashlib.sha256(raw).hexdigest() != recorded:
        problems.append(  # one problem per segment: a length change already says it all
            Problem(
                path,
                key,
                "content differs from the sha256 its sidecar recorded when it was rendered "
                "(altered or corrupted)",
                True,
            )
        )
    return problems


def _remove_temp(store: Path, path: Path) -> bool:
    """Remove a leftover temp file unless a build is writing it now (holds its segment lock)."""
    key = temp_file_key(path)
    if key is None:
        return False
    with segment_lock(store, key, blocking=False) as held:
        if not held:
            return False
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return True


def verify_store(store: Path, delete: bool = False) -> VerifyReport:
    """Check every segment, sidecar and leftover temp file; with ``delete``, remove the bad."""
    report = VerifyReport()
    audio_keys = stored_keys(store)
    temps = temp_files(store)  # listed first: removing a segment also removes its temp files
    for key in sorted(audio_keys):
        report.checked += 1
        report.problems.extend(check_segment(store, key))
    for key in sorted(sidecar_keys(store) - audio_keys):
        side = sidecar_path(store, key)
        report.problems.append(
            Problem(side, key, "sidecar without audio (an interrupted render); harmless", False)
        )
    for tmp in temps:
        report.problems.append(
            Problem(tmp, temp_file_key(tmp), "temporary file left by an interrupted write", False)
        )
    if not delete:
        return report
    for problem in report.problems:
        if problem.path in temps:
            gone = not problem.path.exists() or _remove_temp(store, problem.path)
        elif problem.key is not None and problem.corrupt:
            gone = remove_segment(store, problem.key)
        elif problem.key is not None and problem.key not in audio_keys:  # stray sidecar
            gone = remove_segment(store, problem.key, blocking=False)
        else:
            continue  # a note about a usable segment (e.g. no sidecar): kept
        if gone:
            report.removed.append(problem.path)
    return report


@dataclass
class GcPlan:
    store: Path
    referenced: int
    segments: list[str] = field(default_factory=list)  # keys of unreferenced segments
    orphan_sidecars: list[str] = field(default_factory=list)
    temps: list[Path] = field(default_factory=list)
    stale_locks: list[str] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        total = 0
        paths: Iterable[Path] = (
            *(segment_path(self.store, k) for k in self.segments),
            *(sidecar_path(self.store, k) for k in (*self.segments, *self.orphan_sidecars)),
            *self.temps,
        )
        for p in paths:
            with contextlib.suppress(OSError):
                total += p.stat().st_size
        return total

    @property
    def empty(self) -> bool:
        return not (self.segments or self.orphan_sidecars or self.temps or self.stale_locks)


def plan_gc(store: Path, referenced: set[str]) -> GcPlan:
    """What ``gc`` would remove: everything in ``store`` that no key in ``referenced`` names."""
    audio = stored_keys(store)
    sidecars = sidecar_keys(store)
    locks = store / LOCK_DIR
    lock_keys = {p.stem for p in locks.glob("*.lock")} if locks.is_dir() else set()
    return GcPlan(
        store=store,
        referenced=len(referenced),
        segments=sorted(audio - referenced),
        orphan_sidecars=sorted(sidecars - audio - referenced),
        temps=temp_files(store),  # leftovers of killed writes; one being written is locked
        stale_locks=sorted(lock_keys - audio - referenced),
    )


def run_gc(plan: GcPlan) -> tuple[int, int]:
    """Delete what ``plan`` lists; segments a build holds locked are skipped.

    Returns (removed, skipped) counted in segments, sidecars, temp and lock files.
    """
    removed = skipped = 0
    for key in (*plan.segments, *plan.orphan_sidecars, *plan.stale_locks):
        if remove_segment(plan.store, key, blocking=False):
            removed += 1
        else:
            skipped += 1
    for tmp in plan.temps:
        if not tmp.exists():
            continue  # went with its segment above
        if _remove_temp(plan.store, tmp):
            removed += 1
        else:
            skipped += 1
    log.info("gc removed %d entries from %s (%d in use, skipped)", removed, plan.store, skipped)
    return removed, skipped
