"""Voice assets: file names from line ids, and what changed since the last build (pure).

A manifest entry (:class:`AssetEntry`) carries what a line's file is made of: its text, its
voice (engine, version, model, reference content, language), its parameters (seed included)
and the mastering settings. :func:`diff_assets` compares two builds' entries by id and says
for each changed line which of those changed, so a CI job can post "3 lines changed in this
drop" and fail on policy.

Imports: core.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def asset_stems(ids: Sequence[str]) -> dict[str, str]:
    """The file name (without suffix) of each line id: the id itself when it is a safe file
    name; otherwise the id with unsafe characters as ``_`` plus 6 hex digits of its hash, so
    two ids never share a file (also on case-insensitive file systems).

    >>> asset_stems(["intro_01", "line:5837f2"])
    {'intro_01': 'intro_01', 'line:5837f2': 'line_5837f2-93abd3'}
    """
    folded: dict[str, int] = {}
    for uid in ids:
        folded[uid.casefold()] = folded.get(uid.casefold(), 0) + 1
    stems: dict[str, str] = {}
    for uid in ids:
        safe = _UNSAFE.sub("_", uid).lstrip(".") or "_"
        if safe != uid or folded[uid.casefold()] > 1:
            safe = f"{safe}-{hashlib.sha256(uid.encode('utf-8')).hexdigest()[:6]}"
        stems[uid] = safe
    return stems


@dataclass(frozen=True)
class AssetEntry:
    """One line's file in the manifest. ``fingerprint`` hashes everything that shapes the
    file's bytes (segment keys, mastering settings, the asset pipeline version)."""

    id: str
    file: str  # relative to the manifest
    character: str
    text: str
    language: str
    line: int
    segments: tuple[str, ...]  # segment keys, in order (a long line has several chunks)
    voice: Mapping[str, str]
    params: Mapping[str, float]
    mastering: str  # digest of the mastering settings
    fingerprint: str
    duration: float = 0.0
    sha256: str = ""
    levels: Mapping[str, Any] = field(
        default_factory=dict
    )  # loudness, true peak, gain, normalization

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["segments"] = list(self.segments)
        data["voice"] = dict(self.voice)
        data["params"] = dict(self.params)
        data["levels"] = dict(self.levels)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AssetEntry:
        return cls(
            str(data["id"]),
            str(data["file"]),
            str(data["character"]),
            str(data["text"]),
            str(data["language"]),
            int(data["line"]),
            tuple(str(k) for k in data["segments"]),
            {str(k): str(v) for k, v in data["voice"].items()},
            {str(k): float(v) for k, v in data["params"].items()},
            str(data["mastering"]),
            str(data["fingerprint"]),
            float(data.get("duration", 0.0)),
            str(data.get("sha256", "")),
            dict(data.get("levels") or {}),
        )


#: What a changed line's report names, and how each is read off an entry.
_ASPECTS: tuple[tuple[str, Callable[[AssetEntry], object]], ...] = (
    ("text", lambda e: e.text),
    ("voice", lambda e: (e.character, e.language, sorted(e.voice.items()))),
    ("parameters", lambda e: sorted((k, v) for k, v in e.params.items() if k != "seed")),
    ("mastering", lambda e: e.mastering),
    ("file", lambda e: e.file),
)


def what_changed(old: AssetEntry, new: AssetEntry) -> list[str]:
    """Which aspects differ; ``render`` when only the segments do (a new engine pipeline).
    The seed counts as a parameter only when the text is the same: a derived seed follows
    the text, so a text edit changes it too."""
    aspects = [name for name, get in _ASPECTS if get(old) != get(new)]
    if "text" not in aspects and old.params.get("seed") != new.params.get("seed"):
        aspects = sorted({*aspects, "parameters"}, key=[a for a, _ in _ASPECTS].index)
    if not aspects and old.fingerprint != new.fingerprint:
        aspects = ["render"]
    return aspects


def diff_assets(old: Iterable[AssetEntry], new: Iterable[AssetEntry]) -> dict[str, Any]:
    """The change report between two builds' entries (by id, in the new build's order).

    >>> e = AssetEntry("a", "ep/a.wav", "bob", "Hi.", "en", 1, ("k1",), {}, {}, "m", "f1")
    >>> d = diff_assets([e], [e, AssetEntry("b", "ep/b.wav", "bob", "Yo.", "en", 2, ("k2",),
    ...                                      {}, {}, "m", "f2")])
    >>> d["added"], d["changed"], d["removed"], d["unchanged"]
    (['b'], [], [], 1)
    """
    before = {e.id: e for e in old}
    after = list(new)
    ids = {e.id for e in after}
    added = [e.id for e in after if e.id not in before]
    changed = [
        {"id": e.id, "what": what_changed(before[e.id], e)}
        for e in after
        if e.id in before and what_changed(before[e.id], e)
    ]
    removed = [uid for uid in before if uid not in ids]
    unchanged = len(after) - len(added) - len(changed)
    total = len(added) + len(changed) + len(removed)
    return {
        "added": added,
        "changed": changed,
        "removed": removed,
        "unchanged": unchanged,
        "summary": (
            f"{total} line{'s' if total != 1 else ''} changed in this drop: {len(added)} added, "
            f"{len(changed)} changed, {len(removed)} removed, {unchanged} unchanged"
        ),
    }
